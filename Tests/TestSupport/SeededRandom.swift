/// A reproducible random number generator (SplitMix64) for the fuzz tests: the same seed gives
/// the same inputs on every machine, so a failure names the seed that reproduces it.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` random bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }

    /// One element of `choices` (which must not be empty).
    public mutating func pick<T>(_ choices: [T]) -> T {
        choices[Int.random(in: 0..<choices.count, using: &self)]
    }

    /// `input` with 1 to `maximumEdits` random byte edits: flips, insertions of bytes from
    /// `dictionary` (or random ones), deletions, duplications of a slice.
    public mutating func mutate(_ input: [UInt8], maximumEdits: Int = 4, dictionary: [[UInt8]] = []) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...max(1, maximumEdits), using: &self) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &self)
            switch Int.random(in: 0..<5, using: &self) {
            case 0 where position < bytes.count:
                bytes[position] ^= UInt8(1) << UInt8.random(in: 0...7, using: &self)
            case 1:
                let insert = dictionary.isEmpty ? self.bytes(Int.random(in: 1...4, using: &self)) : pick(dictionary)
                bytes.insert(contentsOf: insert, at: position)
            case 2 where position < bytes.count:
                let end = min(bytes.count, position + Int.random(in: 1...8, using: &self))
                bytes.removeSubrange(position..<end)
            case 3 where position < bytes.count:
                let end = min(bytes.count, position + Int.random(in: 1...16, using: &self))
                bytes.insert(contentsOf: Array(bytes[position..<end]), at: position)
            default:
                bytes.insert(UInt8.random(in: 0...255, using: &self), at: min(position, bytes.count))
            }
        }
        return bytes
    }
}
