import FoundationEssentials
import Uplink

/// What one attempt to deliver a batch came to, from the board's side (docs/uplink.md §6).
public enum DeliveryOutcome: Sendable, Equatable {
    /// The receiver stored this exact batch (now, or before: `duplicate`).
    case acknowledged(duplicate: Bool, gap: String?)
    /// Not delivered; try the same bytes again after a backoff (at least `retryAfter`).
    case retry(reason: String, retryAfter: Duration?)
    /// The receiver refused the batch itself; keep it, raise an alarm, retry after the longest backoff.
    case rejected(status: Int, code: String, message: String)

    /// Classifies a receiver's answer to `batch`: only a 200 whose JSON names this batch's sequence and
    /// hash is an acknowledgement; anything else means the batch was not delivered.
    public static func classify(status: Int, body: [UInt8], retryAfterHeader: String?, batch: SignedBatch, now: Date) -> DeliveryOutcome {
        let object: [String: JSONValue]? = switch try? JSONDecoder().decode(JSONValue.self, from: Data(body)) {
        case .object(let members)?: members
        default: nil
        }
        switch status {
        case 200:
            guard let object else {
                return .retry(reason: "HTTP 200 without a JSON acknowledgement (\(body.count) bytes of something else)", retryAfter: nil)
            }
            let sequence = sequenceNumber(object["sequence"])
            let hash = object["hash"]?.stringValue?.lowercased()
            let expectedHash = batch.hash.hexString
            guard sequence == batch.sequence else {
                return .retry(reason: "the acknowledgement names sequence \(sequence.map(String.init) ?? "none"), not \(batch.sequence)", retryAfter: nil)
            }
            guard hash == expectedHash else {
                return .retry(reason: "the acknowledgement of sequence \(batch.sequence) names another batch hash", retryAfter: nil)
            }
            let statusWord = object["status"]?.stringValue
            guard statusWord == "stored" || statusWord == "duplicate" else {
                return .retry(reason: "the acknowledgement has status \(statusWord.map { "\"\($0)\"" } ?? "none"), not \"stored\" or \"duplicate\"", retryAfter: nil)
            }
            var gap: String?
            if case .object(let g)? = object["gap"] {
                func text(_ value: JSONValue?) -> String { sequenceNumber(value).map(String.init) ?? "?" }
                gap = "receiver expected sequence \(text(g["expected"])), got \(text(g["received"]))"
            }
            return .acknowledged(duplicate: statusWord == "duplicate", gap: gap)
        case 429, 503:
            let retryAfter = retryAfterHeader.flatMap { UplinkBackoff.parseRetryAfter($0, now: now) }
            return .retry(reason: "receiver busy (HTTP \(status))", retryAfter: retryAfter)
        case 500...599:
            let retryAfter = retryAfterHeader.flatMap { UplinkBackoff.parseRetryAfter($0, now: now) }
            return .retry(reason: "receiver error (HTTP \(status))\(describe(object))", retryAfter: retryAfter)
        case 400...499:
            let code = object?["error"]?.stringValue ?? "http-\(status)"
            let message = object?["message"]?.stringValue ?? "HTTP \(status) without an explanation"
            return .rejected(status: status, code: code, message: message)
        default:
            return .retry(reason: "unexpected HTTP \(status)", retryAfter: nil)
        }
    }

    /// Whether a refusal says the batch's bytes themselves are wrong (400 `malformed-batch` or
    /// `malformed-payload`): sending the same bytes again cannot succeed. Other refusals (an
    /// unenrolled key, a proxy's media-type rule, a body over a limit) can be fixed upstream.
    public static func isMalformed(status: Int, code: String) -> Bool {
        status == 400 && (code == "malformed-batch" || code == "malformed-payload")
    }

    private static func describe(_ object: [String: JSONValue]?) -> String {
        guard let code = object?["error"]?.stringValue else { return "" }
        return ": \(code)"
    }

    /// A batch sequence number in the acknowledgement JSON (nil unless a whole number ≥ 0).
    private static func sequenceNumber(_ value: JSONValue?) -> UInt64? {
        value?.numberValue.flatMap { UInt64(exactly: $0) }
    }
}
