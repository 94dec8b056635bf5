import AsyncHTTPClient
import FoundationEssentials
import NIOCore
import NIOHTTP1
import Uplink

extension HTTPBatchTransport: DesiredStateSource {
    /// `GET /v1/desired-state/{device}?…` on the batch URL's scheme, host and port (docs/downlink.md, "The pull").
    public func pullDesiredState(deviceID: DeviceID, applied: [String: UInt64], waitSeconds: Int) async
        -> (outcome: DesiredStatePullOutcome, wireBytes: Int)
    {
        let waitSeconds = min(max(waitSeconds, 0), DesiredStatePull.maximumWaitSeconds)
        guard let url = Self.pullURL(batchURL: configuration.url, deviceID: deviceID, applied: applied, waitSeconds: waitSeconds) else {
            return (.failed(reason: "[uplink] url \(configuration.url) has no scheme and host to pull from", retryAfter: nil), 0)
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .GET
        let requestBytes = Self.requestHeadBytes(request, url: url, method: "GET")
        // A long poll may be held `waitSeconds` before the answer starts.
        let deadline = NIODeadline.now() + TimeAmount(configuration.connectTimeout + configuration.requestTimeout + .seconds(waitSeconds))
        do {
            let response = try await client.execute(request, deadline: deadline)
            let head = Self.responseHeadBytes(response)
            let body: ByteBuffer
            do { body = try await response.body.collect(upTo: DesiredStatePull.maximumAnswerBytes) } catch {
                return (.failed(reason: "the desired-state answer is longer than \(DesiredStatePull.maximumAnswerBytes) bytes", retryAfter: nil),
                        requestBytes + head + DesiredStatePull.maximumAnswerBytes)
            }
            let wireBytes = requestBytes + head + body.readableBytes
            switch response.status.code {
            case 204:
                return (.nothingNew, wireBytes)
            case 200:
                do { return (.documents(try DesiredStatePull.documents(answer: Array(body.readableBytesView))), wireBytes) } catch {
                    return (.failed(reason: error.message, retryAfter: nil), wireBytes)
                }
            default:
                let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0) }.flatMap { (0...86_400).contains($0) ? Duration.seconds($0) : nil }
                let text = String(decoding: body.readableBytesView.prefix(300), as: UTF8.self)
                return (.refused(status: Int(response.status.code), reason: text, retryAfter: retryAfter), wireBytes)
            }
        } catch {
            return (.failed(reason: Self.describe(error), retryAfter: nil), 0)
        }
    }

    /// The pull URL: the batch URL's scheme, host and port with the pull's path and query.
    static func pullURL(batchURL: URL, deviceID: DeviceID, applied: [String: UInt64], waitSeconds: Int = 0) -> URL? {
        guard let scheme = batchURL.scheme, let host = batchURL.host else { return nil }
        let port = batchURL.port.map { ":\($0)" } ?? ""
        return URL(string: "\(scheme)://\(host)\(port)\(DesiredStatePull.target(device: deviceID, applied: applied, waitSeconds: waitSeconds))")
    }
}
