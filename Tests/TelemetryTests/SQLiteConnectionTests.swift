import Testing
@testable import Telemetry

/// The spool's own SQLite wrapper: values round-trip, and every failure says SQLite's code and message.
@Suite("SQLite wrapper")
struct SQLiteConnectionTests {
    @Test("A bad SQL statement gives an error naming the SQLite code, its message and the SQL")
    func badSQL() throws {
        let db = try SQLiteConnection.open(path: ":memory:", mode: .readWriteCreate)
        let error = #expect(throws: SQLiteError.self) { try db.execute(sql: "SELEC 1") }
        #expect(error?.resultCode == 1)
        #expect(error?.resultCodeName == "SQLITE_ERROR")
        #expect(error?.message.contains("syntax error") == true)
        #expect(error?.sql == "SELEC 1")
        #expect(error?.description.hasPrefix("SQLite error 1 (SQLITE_ERROR): near \"SELEC\": syntax error") == true)

        let prepareError = #expect(throws: SQLiteError.self) { try db.prepare(sql: "SELECT * FROM missing") }
        #expect(prepareError?.message == "no such table: missing")
        #expect(prepareError?.sql == "SELECT * FROM missing")
    }

    @Test("Extended result codes are kept: a duplicate primary key is SQLITE_CONSTRAINT_PRIMARYKEY")
    func extendedCode() throws {
        let db = try SQLiteConnection.open(path: ":memory:", mode: .readWriteCreate)
        try db.execute(sql: "CREATE TABLE t(id INTEGER PRIMARY KEY)")
        try db.execute(sql: "INSERT INTO t(id) VALUES (?)", arguments: [.integer(1)])
        let error = #expect(throws: SQLiteError.self) {
            try db.execute(sql: "INSERT INTO t(id) VALUES (?)", arguments: [.integer(1)])
        }
        #expect(error?.resultCode == 19)  // SQLITE_CONSTRAINT
        #expect(error?.extendedResultCode == 1555)  // SQLITE_CONSTRAINT_PRIMARYKEY
        #expect(error?.description.contains("SQLITE_CONSTRAINT, extended code 1555") == true)
    }

    @Test("Values of every storage class bind and read back")
    func roundTrip() throws {
        let db = try SQLiteConnection.open(path: ":memory:", mode: .readWriteCreate)
        try db.execute(sql: "CREATE TABLE t(n INTEGER PRIMARY KEY, v)")
        let values: [SQLiteValue] = [
            .null, .integer(-42), .integer(.max), .real(2.5), .text("héllo ✓"), .text(""), .blob([0, 1, 255]), .blob([]),
        ]
        let insert = try db.cachedStatement(sql: "INSERT INTO t(n, v) VALUES (?, ?)")
        for (n, value) in values.enumerated() { try insert.execute([.integer(Int64(n)), value]) }
        let read = try db.prepare(sql: "SELECT v FROM t ORDER BY n").fetchAll { $0.value(0) }
        #expect(read == values)
        #expect(try db.fetchInt64(sql: "SELECT count(*) FROM t WHERE v IS NULL") == 1)
        #expect(try db.fetchInt64(sql: "SELECT v FROM t WHERE n = 0") == nil)
        #expect(try db.fetchStrings(sql: "SELECT typeof(v) FROM t WHERE n >= 6") == ["blob", "blob"])
    }

    @Test("A transaction is rolled back when its body throws; the error comes out unchanged")
    func rollback() throws {
        let db = try SQLiteConnection.open(path: ":memory:", mode: .readWriteCreate)
        try db.execute(sql: "CREATE TABLE t(id INTEGER PRIMARY KEY)")
        let error = #expect(throws: SQLiteError.self) {
            try db.transaction(.immediate) {
                try db.execute(sql: "INSERT INTO t(id) VALUES (1)")
                try db.execute(sql: "INSERT INTO t(nope) VALUES (2)")
            }
        }
        #expect(error?.message == "table t has no column named nope")
        #expect(!db.isInTransaction)
        #expect(try db.fetchInt64(sql: "SELECT count(*) FROM t") == 0)
        try db.transaction(.deferred) { try db.execute(sql: "INSERT INTO t(id) VALUES (3)") }
        #expect(try db.fetchInt64(sql: "SELECT count(*) FROM t") == 1)
    }

    @Test("Opening a file in a missing folder fails with SQLITE_CANTOPEN")
    func openMissingFolder() throws {
        let error = #expect(throws: SQLiteError.self) {
            try SQLiteConnection.open(path: "/nonexistent-lampd-folder/spool.sqlite", mode: .readWriteCreate)
        }
        #expect(error?.resultCode == 14)
        #expect(error?.resultCodeName == "SQLITE_CANTOPEN")
        #expect(error?.message == "unable to open database file")
    }

    @Test("A read-only connection refuses writes; a closed one refuses everything")
    func readOnlyAndClosed() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = folder.path("t.sqlite")
        let writer = try SQLiteConnection.open(path: path, mode: .readWriteCreate)
        try writer.execute(sql: "CREATE TABLE t(id INTEGER PRIMARY KEY)")
        let reader = try SQLiteConnection.open(path: path, mode: .readOnly)
        let readOnly = #expect(throws: SQLiteError.self) { try reader.execute(sql: "INSERT INTO t(id) VALUES (1)") }
        #expect(readOnly?.resultCodeName == "SQLITE_READONLY")

        try writer.close()
        try writer.close()  // a second close does nothing
        let closed = #expect(throws: SQLiteError.self) { try writer.execute(sql: "SELECT 1") }
        #expect(closed?.resultCodeName == "SQLITE_MISUSE")
        #expect(closed?.message.contains("is closed") == true)
    }
}
