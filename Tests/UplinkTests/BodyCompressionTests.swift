import Testing
@testable import Uplink

@Suite("HTTP deflate body coding")
struct BodyCompressionTests {
    @Test("round trip, and repetitive batches shrink")
    func roundTrip() throws {
        let bytes = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 % 97) }
        let compressed = BodyCompression.deflate(bytes)
        #expect(compressed.count < bytes.count / 10)
        #expect(compressed.first == 0x78) // zlib header (RFC 1950), not raw deflate
        #expect(try BodyCompression.inflate(compressed, maxOutputBytes: 20_000) == bytes)
    }

    @Test("a body that inflates past the limit is refused as too large")
    func bombRefused() {
        let compressed = BodyCompression.deflate([UInt8](repeating: 0, count: 1_000_000))
        #expect(compressed.count < 2_000)
        #expect(throws: UplinkError.self) { try BodyCompression.inflate(compressed, maxOutputBytes: 100_000) }
        do { _ = try BodyCompression.inflate(compressed, maxOutputBytes: 100_000) } catch {
            #expect(error.reason == .bodyTooLarge)
        }
    }

    @Test("garbage, truncated streams and trailing bytes are malformed")
    func malformed() {
        let good = BodyCompression.deflate(Array("hello batch".utf8))
        for bad in [[UInt8]("not zlib".utf8), Array(good.dropLast(3)), good + [0x00], []] {
            do {
                _ = try BodyCompression.inflate(bad, maxOutputBytes: 1000)
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.reason == .malformedBody)
            }
        }
    }
}
