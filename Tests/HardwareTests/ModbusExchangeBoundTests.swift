import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Hardware

/// The live bus against a Modbus TCP peer that misbehaves on purpose
/// (Tests/Peers/modbus_misbehaving_peer.py): a whole request ends within its
/// timeout however the peer trickles, and the error names what went wrong.
///
/// The bounds are behaviour bounds, not performance targets, and hold on a busy
/// machine: a request with a 500 ms timeout ends in about 0.5 s, while the defect
/// they guard against (a timeout per byte) let a peer trickling the 209-byte answer
/// to a 100-register read, one byte every 0.3 s, stretch it to over 60 s. The bound,
/// 20 s, leaves a 40-fold margin for a machine that starves the test (a 1.5 s bound
/// was seen exceeded at 4.5 s while a release build ran beside the suite).
@Suite("Modbus exchange bound and answer errors")
struct ModbusExchangeBoundTests {
    static let timeout = Duration.milliseconds(500)
    static let bound = Duration.seconds(20)

    static func open(_ peer: MisbehavingModbusPeer, timeout: Duration = timeout) async throws -> ModbusBus {
        try await ModbusBus.open(ModbusBusConfiguration(.tcp(host: "127.0.0.1", port: peer.port), timeout: timeout))
    }

    /// Reads `count` holding registers and returns the error and how long the request took.
    static func failedRead(_ mode: MisbehavingModbusPeer.Mode, count: Int = 4) async throws -> (ModbusError, Duration) {
        try await MisbehavingModbusPeer.with(mode) { peer in
            let bus = try await open(peer)
            let clock = ContinuousClock()
            let start = clock.now
            do {
                let registers = try await bus.readHoldingRegisters(unit: 1, address: 10, count: count)
                Issue.record("\(mode) peer: read returned \(registers)")
                throw MisbehavingModbusPeer.Failed(description: "no error")
            } catch let error as ModbusError {
                return (error, clock.now - start)
            }
        }
    }

    @Test func theWellBehavedPeerAnswers() async throws {
        try await MisbehavingModbusPeer.with(.ok) { peer in
            let bus = try await Self.open(peer)
            #expect(try await bus.readHoldingRegisters(unit: 1, address: 10, count: 4) == [10, 11, 12, 13])
        }
    }

    @Test func aTricklingPeerCostsOneTimeoutNotOnePerByte() async throws {
        let (error, elapsed) = try await Self.failedRead(.trickle, count: 100)
        #expect(error.kind == .timeout, "\(error)")
        #expect(elapsed < Self.bound, "a trickled answer took \(elapsed)")
        #expect(error.description.contains("did not answer within 500 ms (no complete answer)"), "\(error.description)")
    }

    @Test func aSilentPeerCostsOneTimeout() async throws {
        let (error, elapsed) = try await Self.failedRead(.silent)
        #expect(error.kind == .timeout, "\(error)")
        #expect(elapsed < Self.bound, "took \(elapsed)")
    }

    @Test func anAnswerCutShortIsATimeoutWithinTheBound() async throws {
        let (error, elapsed) = try await Self.failedRead(.truncated)
        #expect(error.kind == .timeout, "\(error)")
        #expect(elapsed < Self.bound, "took \(elapsed)")
    }

    @Test(arguments: [MisbehavingModbusPeer.Mode.wrongFunction, .wrongTransaction, .short])
    func aMalformedAnswerIsNamedAsSuch(mode: MisbehavingModbusPeer.Mode) async throws {
        let (error, elapsed) = try await Self.failedRead(mode)
        #expect(error.kind == .invalidResponse, "\(mode): \(error)")
        #expect(error.code == "modbus.invalid-response")
        #expect(!error.description.contains("did not answer"), "\(error.description)")
        #expect(error.description.contains("does not match the request"), "\(error.description)")
        #expect(elapsed < Self.bound, "\(mode) took \(elapsed)")
    }

    @Test func anExceptionIsNamedWithItsAdvice() async throws {
        let (error, _) = try await Self.failedRead(.exception)
        #expect(error.kind == .exception(.illegalDataAddress), "\(error)")
        #expect(error.description.contains("register map"), "\(error.description)")
    }

    @Test func cancellingARequestDoesNotWaitForTheExchange() async throws {
        try await MisbehavingModbusPeer.with(.trickle) { peer in
            // A long timeout: only cancellation can end this request early.
            let bus = try await Self.open(peer, timeout: .seconds(20))
            let clock = ContinuousClock()
            let request = Task { try await bus.readHoldingRegisters(unit: 1, address: 10, count: 4) }
            let start = clock.now
            request.cancel()
            let result = await request.result
            let elapsed = clock.now - start
            #expect(throws: CancellationError.self) { try result.get() }
            #expect(elapsed < .seconds(3), "a cancelled request still took \(elapsed)")
        }
    }
}

/// The bus's queue without I/O: who goes first, and what a caller that stops waiting gets.
@Suite("Modbus request queue")
struct ModbusRequestQueueTests {
    @Test func writesGoAheadOfQueuedReads() {
        let order = Mutex<[String]>([])
        var lanes = ModbusRequestLanes()
        for name in ["read 1", "read 2"] { lanes.append(urgent: false) { order.withLock { $0.append(name) } } }
        lanes.append(urgent: true) { order.withLock { $0.append("lamp write") } }
        lanes.append(urgent: false) { order.withLock { $0.append("read 3") } }
        while let job = lanes.next() { job() }
        #expect(order.withLock { $0 } == ["lamp write", "read 1", "read 2", "read 3"])
    }

    @Test func aRequestStillQueuedWhenItsCallerGivesUpIsNeverSentAndSaysWhy() async throws {
        let ticket = ModbusRequestTicket<Int>()
        let result = await Result<Int, any Error>(catching: { () async throws -> Int in
            try await withCheckedThrowingContinuation { continuation in
                #expect(ticket.attach(continuation))
                ticket.giveUp(bus: "192.0.2.1:502", unit: 3, timeout: .milliseconds(500), waited: .milliseconds(1250))
            }
        })
        #expect(!ticket.start(), "a request given up before it reached the bus must not be sent")
        let error = try #require(result.error as? ModbusError)
        #expect(error.kind == .busBusy)
        #expect(error.description.contains("was not sent: the bus was busy with other requests for 1250 ms"), "\(error.description)")
        ticket.finish(.success(1))  // a late outcome is dropped, not resumed twice
    }

    @Test func anOverflowingDurationNeverTraps() {
        #expect(ModbusRequestTicket<Int>.nanoseconds(.seconds(Int64.max)) == Int.max)
        #expect(ModbusRequestTicket<Int>.nanoseconds(.seconds(-5)) == 0)
        #expect(ModbusDuration.milliseconds(.seconds(Int64.max)) == Int64.max)
        #expect(ModbusDuration.milliseconds(.seconds(Int64.min)) == 0)
    }
}

extension Result {
    init(catching body: () async throws(Failure) -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }

    var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
