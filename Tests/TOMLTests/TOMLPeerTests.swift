import Foundation
import TOML
import TestSupport
import Testing

/// The parser against Python 3.11's `tomllib`: the same values for valid documents, the same
/// verdict (accept or refuse) for mutated ones, and never a trap.
///
/// Legitimate differences (checked, not skipped): integers outside 64 bits (tomllib has big
/// integers; TOML 1.0 lets a parser refuse what it cannot represent losslessly, and ours does);
/// nesting deeper than `TOML.maximumDepth` (64; tomllib stops at Python's recursion limit, far
/// beyond anything the mutations build).
@Suite("TOML parser against tomllib")
struct TOMLPeerTests {
    static let dictionary: [[UInt8]] = [
        "[", "]", "[[", "]]", "{", "}", "=", "\"", "'", "'''", "\"\"\"", ".", ",", "#", "\n", "\r\n", "\r", "\t", " ",
        "\\", "\\u", "\\U0001F600", "\\u00e9", "\\x", "0", "9", "_", "0x", "0o", "0b", "+", "-", "e", "E", "inf", "nan",
        "1979-05-27", "T07:32:00", "Z", "+05:30", ".999", "true", "false", "a.b", "\u{0}", "é", "\u{7F}",
    ].map { Array($0.utf8) } + [[0xE9], [0xFF], [0xED, 0xA0, 0x80], [0xEF, 0xBB, 0xBF]]

    /// The repository's TOML files, a document of every feature, and generated ones.
    static func corpus() throws -> [[UInt8]] {
        let root = TOMLPeer.repositoryRoot
        var documents: [[UInt8]] = []
        for path in ["deploy/examples/simulated.toml", "deploy/examples/raspberry-pi.toml", "Benchmarks/configs/sampling-40ch.toml"] {
            documents.append([UInt8](try Data(contentsOf: root.appendingPathComponent(path))))
        }
        documents.append(Array(Self.everyFeature.utf8))
        var generator = TOMLDocumentGenerator(seed: 0x70_11)
        for _ in 0..<150 { documents.append(Array(generator.document().utf8)) }
        return documents
    }

    static let everyFeature = #"""
        # Every TOML 1.0 feature lampd's files could use.
        title = "TOML \"example\" \u00e9\U0001F600"
        "quoted key" = 1
        'literal key' = 2
        dotted.key.path = 3
        site."time zone" = 'Europe/Berlin'
        integers = [+99, 42, 0, -17, 1_000, 0xDEADBEEF, 0xdead_beef, 0o01234567, 0o755, 0b11010110]
        floats = [+1.0, 3.1415, -0.01, 5e+22, 1e06, -2E-2, 6.626e-34, 224_617.445_991_228, inf, +inf, -inf, nan, +nan, -nan, -0.0]
        booleans = [true, false]
        dates = [1979-05-27T07:32:00Z, 1979-05-27T00:32:00-07:00, 1979-05-27T00:32:00.999999-07:00, 1979-05-27 07:32:00Z,
                 1979-05-27T07:32:00, 1979-05-27T00:32:00.999999, 1979-05-27, 07:32:00, 00:32:00.999999]
        mixed = [ [ 1, 2 ], ["a", 'b'], [1.1, 2.2], { x = 1 }, ]  # trailing comma
        multiline = """
        Roses are red
        Violets are blue"""
        folded = """\
               The quick brown \
               fox jumps over \
               the lazy dog.\
               """
        quotes = """Here are two quotation marks: "". Simple enough."""
        five = """Here are fifteen quotation marks: ""\"""\"""\"""\"""\"."""
        literal = 'C:\Users\nodejs\templates'
        regex = '''I [dw]on't need \d{2} apples'''
        lines = '''
        The first newline is
        trimmed in raw strings.
           All other whitespace
           is preserved.
        '''
        inline = { first = "Tom", last = "Preston-Werner", point.x = 1, point.y = 2 }

        [table-1]
        key1 = "some string"

        [dog."tater.man"]
        type.name = "pug"

        [ j . "ʞ" . 'l' ]
        [x.y.z.w] # for this to work
        [x] # defining a super-table afterward is ok

        [fruit]
        apple.color = "red"
        apple.taste.sweet = true
        [fruit.apple.texture]  # you can add sub-tables
        smooth = true

        [[products]]
        name = "Hammer"
        sku = 738594937
        [[products]]  # empty table within the array
        [[products]]
        name = "Nail"
        color = "gray"

        [[fruits]]
        name = "apple"
        [fruits.physical]  # subtable
        color = "red"
        [[fruits.varieties]]  # nested array of tables
        name = "red delicious"
        [[fruits.varieties]]
        name = "granny smith"
        [[fruits]]
        name = "banana"
        [[fruits.varieties]]
        name = "plantain"
        """#

    /// Compares ours with tomllib's answer for one document; nil when they agree.
    static func disagreement(_ document: [UInt8], _ answer: TOMLPeer.Answer) -> String? {
        let ours: Result<TOMLTable, TOMLError> = Result { () throws(TOMLError) in try TOML.parse(document) }
        switch (answer, ours) {
        case (.accepted(let theirs), .success(let table)):
            let mine = TOMLPeer.canonical(.table(table))
            return mine == theirs ? nil : "different values:\n ours   \(mine)\n theirs \(theirs)"
        case (.accepted, .failure(let error)):
            return "tomllib accepts it, ours refuses: \(error)"
        case (.acceptedBigInteger, .failure(let error)) where error.message.contains("out of range"):
            return nil
        case (.acceptedBigInteger, _):
            return "an integer outside 64 bits was not refused as out of range"
        case (.refused(let reason), .success):
            return "tomllib refuses it (\(reason)), ours accepts it"
        case (.refused, .failure):
            return nil
        }
    }

    /// Compares our parser with tomllib's `answers` (asked once) for `documents`.
    static func check(_ documents: [[UInt8]], against answers: [TOMLPeer.Answer]) {
        var failures = 0
        for (document, answer) in zip(documents, answers) {
            guard let problem = disagreement(document, answer) else { continue }
            failures += 1
            if failures <= 5 {
                let text = String(decoding: document, as: UTF8.self)
                Issue.record("\(problem)\n--- document (\(document.count) bytes) ---\n\(text)\n--- hex: \(document.map { String(format: "%02x", $0) }.joined())")
            }
        }
        #expect(failures == 0, "\(failures) of \(documents.count) documents disagree")
    }

    @Test("valid documents: the same values as tomllib")
    func validDocuments() async throws {
        let corpus = try Self.corpus()
        let answers = try await TOMLPeer.answers(corpus)
        for (document, answer) in zip(corpus, answers) {
            guard case .accepted = answer else {
                Issue.record("tomllib refuses a corpus document: \(answer)\n\(String(decoding: document, as: UTF8.self))")
                continue
            }
        }
        Self.check(corpus, against: answers)
    }

    @Test("mutated documents: the same verdict as tomllib, and no trap", arguments: [UInt64(1), 2, 3])
    func mutatedDocuments(seed: UInt64) async throws {
        let corpus = try Self.corpus()
        var random = SeededRandom(seed: seed)
        var documents: [[UInt8]] = []
        for _ in 0..<1_500 {
            documents.append(random.mutate(random.pick(corpus), maximumEdits: 3, dictionary: Self.dictionary))
        }
        Self.check(documents, against: try await TOMLPeer.answers(documents))
    }
}
