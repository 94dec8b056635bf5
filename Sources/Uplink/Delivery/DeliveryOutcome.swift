import FoundationEssentials

/// What one attempt to deliver a batch came to, from the board's side (docs/uplink.md §6).
public enum DeliveryOutcome: Sendable, Equatable {
    /// The receiver stored this exact batch (now, or before: `duplicate`).
    case acknowledged(duplicate: Bool, gap: String?)
    /// Not delivered; try the same bytes again after a backoff (at least `retryAfter`).
    case retry(reason: String, retryAfter: Duration?)
    /// The receiver refused the batch itself; keep it, raise an alarm, retry after the longest backoff.
    case rejected(status: Int, code: String, message: String)

    /// Classifies a receiver's answer to `batch`: only a 200 whose JSON names this batch's sequence and
    /// hash (a `BatchAcknowledgement`) is an acknowledgement; anything else means the batch was not delivered.
    public static func classify(status: Int, body: [UInt8], retryAfterHeader: String?, batch: SignedBatch, now: Date) -> DeliveryOutcome {
        let answer = ReceivedAnswer.read(body)
        switch status {
        case 200:
            guard let answer else {
                return .retry(reason: "HTTP 200 without a JSON acknowledgement (\(body.count) bytes of something else)", retryAfter: nil)
            }
            guard answer.sequence == batch.sequence else {
                return .retry(reason: "the acknowledgement names sequence \(answer.sequence.map(String.init) ?? "none"), not \(batch.sequence)", retryAfter: nil)
            }
            guard answer.hash?.lowercased() == batch.hash.hexString else {
                return .retry(reason: "the acknowledgement of sequence \(batch.sequence) names another batch hash", retryAfter: nil)
            }
            guard let statusWord = answer.status.flatMap(BatchAcknowledgement.Status.init(rawValue:)) else {
                return .retry(reason: "the acknowledgement has status \(answer.status.map { "\"\($0)\"" } ?? "none"), not \"stored\" or \"duplicate\"", retryAfter: nil)
            }
            let gap = answer.gap.map { gap in
                func text(_ number: UInt64?) -> String { number.map(String.init) ?? "?" }
                return "receiver expected sequence \(text(gap.expected)), got \(text(gap.received))"
            }
            return .acknowledged(duplicate: statusWord == .duplicate, gap: gap)
        case 429, 503:
            let retryAfter = retryAfterHeader.flatMap { UplinkBackoff.parseRetryAfter($0, now: now) }
            return .retry(reason: "receiver busy (HTTP \(status))", retryAfter: retryAfter)
        case 500...599:
            let retryAfter = retryAfterHeader.flatMap { UplinkBackoff.parseRetryAfter($0, now: now) }
            return .retry(reason: "receiver error (HTTP \(status))\(answer?.error.map { ": \($0)" } ?? "")", retryAfter: retryAfter)
        case 400...499:
            let code = answer?.error ?? "http-\(status)"
            let message = answer?.message ?? "HTTP \(status) without an explanation"
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
}
