import SystemSupport
internal import CSQLite

/// An SQLite call that failed, with SQLite's result code and its own message.
///
/// The spool keeps it as the `underlying` error of a `TelemetryError` (`spool.write-failed`, …),
/// so a log line says both what lampd was doing and what SQLite reported, e.g.
/// `SQLite error 13 (SQLITE_FULL): database or disk is full`.
public struct SQLiteError: ActionableError, Hashable {
    /// The extended result code as SQLite returned it (e.g. 1034 = `SQLITE_IOERR_FSYNC`).
    public var extendedResultCode: Int32
    /// `sqlite3_errmsg` of the connection right after the failure (or SQLite's text for the code).
    public var message: String
    /// The SQL that failed, if the failure came from a statement.
    public var sql: String?

    /// The primary result code (the low 8 bits of the extended one): 11 `SQLITE_CORRUPT`,
    /// 13 `SQLITE_FULL`, 14 `SQLITE_CANTOPEN`, 26 `SQLITE_NOTADB`, …
    public var resultCode: Int32 { extendedResultCode & 0xFF }

    /// Stable code (`ActionableError`): `sqlite.` and the result's C name, e.g. `sqlite.full`.
    public var code: String { "sqlite." + resultCodeName.dropFirst("SQLITE_".count).lowercased() }

    /// The C name of `resultCode`, e.g. `SQLITE_BUSY`.
    public var resultCodeName: String {
        Self.primaryCodeNames[resultCode] ?? "SQLITE_\(resultCode)"
    }

    public init(extendedResultCode: Int32, message: String, sql: String? = nil) {
        self.extendedResultCode = extendedResultCode
        self.message = message
        self.sql = sql
    }

    /// True for `SQLITE_CORRUPT` and `SQLITE_NOTADB`: the file is damaged or is not an SQLite database.
    public var isDamagedFile: Bool {
        resultCode == SQLITE_CORRUPT || resultCode == SQLITE_NOTADB
    }

    public var description: String {
        var text = "SQLite error \(resultCode) (\(resultCodeName)"
        if extendedResultCode != resultCode { text += ", extended code \(extendedResultCode)" }
        text += "): \(message)"
        if let sql { text += " — while executing `\(sql)`" }
        return text
    }

    private static let primaryCodeNames: [Int32: String] = [
        0: "SQLITE_OK", 1: "SQLITE_ERROR", 2: "SQLITE_INTERNAL", 3: "SQLITE_PERM", 4: "SQLITE_ABORT",
        5: "SQLITE_BUSY", 6: "SQLITE_LOCKED", 7: "SQLITE_NOMEM", 8: "SQLITE_READONLY", 9: "SQLITE_INTERRUPT",
        10: "SQLITE_IOERR", 11: "SQLITE_CORRUPT", 12: "SQLITE_NOTFOUND", 13: "SQLITE_FULL", 14: "SQLITE_CANTOPEN",
        15: "SQLITE_PROTOCOL", 16: "SQLITE_EMPTY", 17: "SQLITE_SCHEMA", 18: "SQLITE_TOOBIG",
        19: "SQLITE_CONSTRAINT", 20: "SQLITE_MISMATCH", 21: "SQLITE_MISUSE", 22: "SQLITE_NOLFS",
        23: "SQLITE_AUTH", 24: "SQLITE_FORMAT", 25: "SQLITE_RANGE", 26: "SQLITE_NOTADB", 27: "SQLITE_NOTICE",
        28: "SQLITE_WARNING", 100: "SQLITE_ROW", 101: "SQLITE_DONE",
    ]
}

extension SQLiteError {
    /// The one place where a failed SQLite call becomes a Swift error (STYLE.md rule 4): the code
    /// with the connection's `sqlite3_errmsg`, read right away (the next call on it replaces it).
    ///
    /// - Parameters:
    ///   - connection: the `sqlite3 *` the call used; nil when there is none.
    ///   - sql: the statement being run, for the error's text.
    init(code: Int32, connection: OpaquePointer?, sql: String? = nil) {
        // sqlite3_errmsg(NULL) says "out of memory": without a connection, use the code's own text.
        let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        self.init(extendedResultCode: code, message: message, sql: sql)
    }
}

extension SQLiteError {
    /// An `SQLITE_ERROR` raised by the wrapper's caller, not by SQLite (a result SQLite should have given and did not).
    static func failed(_ message: String, sql: String? = nil) -> SQLiteError {
        SQLiteError(extendedResultCode: SQLITE_ERROR, message: message, sql: sql)
    }
}

/// Returns `code` when it means success (`SQLITE_OK`, `SQLITE_ROW`, `SQLITE_DONE`), else throws it
/// as an `SQLiteError` with the connection's message.
@discardableResult
func sqliteCheck(_ code: Int32, _ connection: OpaquePointer?, sql: String? = nil) throws(SQLiteError) -> Int32 {
    switch code {
    case SQLITE_OK, SQLITE_ROW, SQLITE_DONE: return code
    default: throw SQLiteError(code: code, connection: connection, sql: sql)
    }
}
