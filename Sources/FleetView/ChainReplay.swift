import Ingest
import Uplink

/// The receiver's acceptance decisions, made again over stored batches in arrival order (a
/// rebuild after a restart): the same `AcceptanceRules` that decided when each batch arrived, so a
/// gap between stored batches is found the way the receiver found it live.
///
/// What came before a device's first batch in the replay is not known: that batch starts the
/// chain without a gap (a gap just before a rebuild window is not seen; and should that first
/// batch be a late one, filling a hole below a head stored before the window, the next batch looks
/// like a gap). Stored batches are unique per key and sequence, so no duplicate or conflict can
/// come up.
struct ChainReplay {
    private var chains: [String: ChainState] = [:]

    /// The decision on `batch` of `device`, given the batches replayed before it; moves the chain.
    mutating func accept(_ batch: VerifiedBatch, device: String) -> Acceptance {
        let acceptance: Acceptance
        if let chain = chains[device] {
            let link = BatchChainLink(kid: batch.kid, sequence: batch.sequence, previousHash: batch.previousHash, hash: batch.hash)
            acceptance = AcceptanceRules.decide(link, chain: chain, storedHashForSequence: nil)
        } else {
            acceptance = .store(gap: nil, advancesChain: true)
        }
        if case .store(_, true) = acceptance {
            chains[device] = ChainState(kid: batch.kid, sequence: batch.sequence, hash: batch.hash)
        }
        return acceptance
    }
}
