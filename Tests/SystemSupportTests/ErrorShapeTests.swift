import Testing
import SystemSupport

/// Every area's error has the one shape (issue 12, item 7): a stable code, a message, the cause.
@Suite("One error shape")
struct ErrorShapeTests {
    struct Wrapped: ActionableError {
        var code: String { "test.wrapped" }
        var message: String { "the test failed; check the fixture" }
        var description: String { "[\(code)] \(message)" }
        var underlying: (any Error & Sendable)? { Cause() }
    }
    struct Cause: Error {}
    struct Plain: Error, CustomStringConvertible { var description: String { "plain words" } }

    @Test func anActionableErrorKeepsItsCodeMessageAndCause() {
        let summary = ErrorSummary(Wrapped())
        #expect(summary.code == "test.wrapped")
        #expect(summary.message == "the test failed; check the fixture")
        #expect(Wrapped().underlying is Cause)
    }

    @Test func anyOtherErrorGetsTheGenericCodeAndItsDescription() {
        let summary = ErrorSummary(Plain())
        #expect(summary.code == "error")
        #expect(summary.message == "plain words")
    }

    @Test func aFailedFileReplacementNamesItsStepAndErrno() {
        #expect(throws: DurableFile.Failure.self) {
            try DurableFile.replace(path: "/nonexistent-directory-for-lampd-tests/file", with: [1, 2, 3])
        }
        do {
            try DurableFile.replace(path: "/nonexistent-directory-for-lampd-tests/file", with: [1])
        } catch {
            let summary = ErrorSummary(error)
            #expect(summary.code == "file.create-failed")
            #expect(summary.message.contains("No such file or directory"))
        }
    }
}
