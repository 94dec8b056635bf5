/// The pull of the city's signed desired state, both ends (docs/downlink.md, "The pull").
///
/// The board asks `GET /v1/desired-state/{device}?scheduler=V1&operator=V2` with the versions it
/// has applied per role (0: none). The receiver answers `200` with a CBOR array of the newer
/// COSE_Sign1 documents (at most one per role, each the newest of its role) as
/// `application/cbor`, or `204` with no body when nothing is newer. It refuses a malformed query
/// with `400` and a device it has not enrolled with `401`, both as JSON errors like a batch's.
///
/// It lives beside the batch wire format (and not in `Downlink`) because lamp-ingest's receiver
/// serves the documents as opaque signed bytes: only the board decodes and verifies them.
public enum DesiredStatePull {
    /// The path before the device id.
    public static let pathPrefix = "/v1/desired-state/"
    /// The media type of a 200 answer.
    public static let contentType = "application/cbor"
    /// The roles, in the order of the query (the raw values of `DesiredStateRole`).
    public static let roles = ["scheduler", "operator"]
    /// Largest document served or accepted (`DesiredStateLimits.maximumDocumentBytes`).
    public static let maximumDocumentBytes = 32_768
    /// Largest 200 body: one document per role and the CBOR framing.
    public static let maximumAnswerBytes = roles.count * (maximumDocumentBytes + 5) + 1

    /// The query parameter of a long poll: how many seconds the receiver may hold the request
    /// while nothing is newer (docs/downlink.md, "Long poll").
    public static let waitParameter = "wait"
    /// The longest hold a board may ask for, in seconds (1 h).
    public static let maximumWaitSeconds = 3_600

    /// The request target for `device` having applied `applied` (role → version; missing = 0);
    /// with `waitSeconds` > 0 a long poll (`&wait=S`).
    public static func target(device: DeviceID, applied: [String: UInt64], waitSeconds: Int = 0) -> String {
        var target = pathPrefix + device.rawValue + "?" + roles.map { "\($0)=\(applied[$0] ?? 0)" }.joined(separator: "&")
        if waitSeconds > 0 { target += "&\(waitParameter)=\(min(waitSeconds, maximumWaitSeconds))" }
        return target
    }

    /// The applied versions of a query string (`scheduler=3&operator=0`): each role at most once,
    /// each a decimal 0…2^63−1; a missing role is 0. Unknown names are refused, so a typo in a
    /// hand-made request is named instead of silently serving everything again.
    public static func appliedVersions(query: String) throws(PullRequestError) -> [String: UInt64] {
        try request(query: query).applied
    }

    /// A pull request's query: the applied versions and the long poll's wait (0: answer at once).
    public struct Query: Sendable, Equatable {
        public var applied: [String: UInt64]
        /// Seconds the receiver may hold the request, 0…`maximumWaitSeconds`.
        public var waitSeconds: Int
    }

    /// Reads a query string (`scheduler=3&operator=0&wait=600`); `wait` at most once, 0…3600.
    public static func request(query: String) throws(PullRequestError) -> Query {
        var applied: [String: UInt64] = [:]
        var wait: Int?
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let text = parts.count == 2 ? parts[1] : ""
            if name == waitParameter {
                guard wait == nil else { throw PullRequestError("\(waitParameter) is given twice") }
                guard (1...4).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                      let seconds = Int(text), seconds <= maximumWaitSeconds
                else { throw PullRequestError("\(waitParameter)=\(text.prefix(24)) is not a number of seconds 0…\(maximumWaitSeconds)") }
                wait = seconds
                continue
            }
            guard roles.contains(name) else {
                throw PullRequestError(
                    "unknown query parameter \(name.prefix(32)): expected \(roles.map { "\($0)=VERSION" }.joined(separator: "&"))[&\(waitParameter)=SECONDS]")
            }
            guard applied[name] == nil else { throw PullRequestError("\(name) is given twice") }
            guard (1...19).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                  let version = UInt64(text), version <= UInt64(Int64.max)
            else { throw PullRequestError("\(name)=\(text.prefix(24)) is not a version 0…\(Int64.max)") }
            applied[name] = version
        }
        return Query(applied: applied, waitSeconds: wait ?? 0)
    }

    /// The body of a 200 answer.
    public static func answer(documents: [[UInt8]]) -> [UInt8] {
        CBORValue.array(documents.map { .bytes($0) }).encoded()
    }

    /// The documents of a 200 answer; throws `malformedBody` for anything else.
    public static func documents(answer: [UInt8]) throws(UplinkError) -> [[UInt8]] {
        guard answer.count <= maximumAnswerBytes else {
            throw UplinkError(.malformedBody, "the desired-state answer has \(answer.count) bytes, over \(maximumAnswerBytes)")
        }
        let value: CBORValue
        do { value = try CBORDecoder(maximumDepth: 2, maximumLength: maximumDocumentBytes).decode(answer) } catch {
            throw UplinkError(.malformedBody, "the desired-state answer is not CBOR: \(error.description)")
        }
        guard let items = value.array, items.count <= roles.count else {
            throw UplinkError(.malformedBody, "the desired-state answer is not an array of at most \(roles.count) documents")
        }
        var documents: [[UInt8]] = []
        for item in items {
            guard let bytes = item.bytes else { throw UplinkError(.malformedBody, "a desired-state answer item is not a byte string") }
            documents.append(bytes)
        }
        return documents
    }
}

/// A pull request the receiver cannot answer (HTTP 400), with what is wrong in it.
public struct PullRequestError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What one pull of the desired state brought.
public enum DesiredStatePullOutcome: Sendable, Equatable {
    /// 200: the newer documents (each still to be verified by the board).
    case documents([[UInt8]])
    /// 204: nothing newer than what the board applied.
    case nothingNew
    /// No answer (connection, TLS, timeout), or an unreadable one: try again later.
    case failed(reason: String, retryAfter: Duration?)
    /// The receiver answered with another status (404 from a receiver that serves no desired
    /// state, 401, 503 …): try again later (after `retryAfter` if it said).
    case refused(status: Int, reason: String, retryAfter: Duration?)
}

/// Where the board pulls its desired state from; `HTTPBatchTransport` is the HTTP one (the same
/// receiver, TLS and client certificate as the batches).
public protocol DesiredStateSource: Sendable {
    /// Asks once for documents newer than `applied` (role → version), letting the receiver hold
    /// the request up to `waitSeconds` while nothing is newer (0: answer at once). Never throws.
    func pullDesiredState(deviceID: DeviceID, applied: [String: UInt64], waitSeconds: Int) async
        -> (outcome: DesiredStatePullOutcome, wireBytes: Int)
}
