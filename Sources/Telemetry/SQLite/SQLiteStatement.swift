internal import CSQLite

/// One prepared statement: owns the `sqlite3_stmt *`, finalized in `deinit`.
///
/// Made by `SQLiteConnection.prepare(sql:)`; used like its connection, by one caller at a time,
/// and never after the connection was closed (closing fails with `SQLITE_BUSY` while it lives).
/// Columns are numbered from 0, parameters from 1, as in SQLite.
final class SQLiteStatement {
    /// The statement's SQL text, for error messages.
    let sql: String
    private let handle: OpaquePointer

    /// Compiles the first statement of `sql` on `connection`.
    init(preparing sql: String, on connection: OpaquePointer) throws(SQLiteError) {
        var handle: OpaquePointer?
        try sqliteCheck(sqlite3_prepare_v2(connection, sql, -1, &handle, nil), connection, sql: sql)
        guard let handle else {  // only whitespace or a comment
            throw SQLiteError(extendedResultCode: SQLITE_MISUSE, message: "no SQL statement to prepare", sql: sql)
        }
        self.sql = sql
        self.handle = handle
    }

    deinit {
        sqlite3_finalize(handle)
    }

    // MARK: running

    /// Resets the statement and binds `arguments` to parameters 1, 2, … (the others become NULL).
    func bind(_ arguments: [SQLiteValue]) throws(SQLiteError) {
        sqlite3_reset(handle)  // its result repeats the last step's error, already reported then
        sqlite3_clear_bindings(handle)
        for (offset, value) in arguments.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
    }

    /// Binds one parameter (1-based). Text and blobs are copied by SQLite.
    func bind(_ value: SQLiteValue, at index: Int32) throws(SQLiteError) {
        let code: Int32
        switch value {
        case .null:
            code = sqlite3_bind_null(handle, index)
        case .integer(let integer):
            code = sqlite3_bind_int64(handle, index, integer)
        case .real(let real):
            code = sqlite3_bind_double(handle, index, real)
        case .text(let text):
            code = sqlite3_bind_text(handle, index, text, -1, lampd_sqlite3_transient())
        case .blob(let bytes) where bytes.isEmpty:
            code = sqlite3_bind_zeroblob(handle, index, 0)  // an empty buffer has no address: it would bind NULL
        case .blob(let bytes):
            code = bytes.withUnsafeBytes { buffer in
                sqlite3_bind_blob(handle, index, buffer.baseAddress, Int32(buffer.count), lampd_sqlite3_transient())
            }
        }
        try sqliteCheck(code, sqlite3_db_handle(handle), sql: sql)
    }

    /// Runs the statement one step: true when a row is ready to read, false when it is done.
    func step() throws(SQLiteError) -> Bool {
        let code = sqlite3_step(handle)
        if code == SQLITE_ROW { return true }
        if code == SQLITE_DONE { return false }
        try sqliteCheck(code, sqlite3_db_handle(handle), sql: sql)
        return false
    }

    /// Binds `arguments` and runs the statement to its end, ignoring rows.
    func execute(_ arguments: [SQLiteValue] = []) throws(SQLiteError) {
        try bind(arguments)
        defer { sqlite3_reset(handle) }  // releases its read lock at once
        while try step() {}
    }

    /// Binds `arguments`, runs the statement and returns `row(self)` for every row.
    func fetchAll<T>(_ arguments: [SQLiteValue] = [], _ row: (SQLiteStatement) -> T) throws(SQLiteError) -> [T] {
        try bind(arguments)
        defer { sqlite3_reset(handle) }
        var rows: [T] = []
        while try step() { rows.append(row(self)) }
        return rows
    }

    // MARK: columns of the current row

    /// True when the column is NULL.
    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    /// The column as an integer, converted by SQLite (NULL is 0, text is parsed, a real is truncated).
    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    /// The column as a real, converted by SQLite (NULL is 0.0).
    func double(_ column: Int32) -> Double {
        sqlite3_column_double(handle, column)
    }

    /// The column as text (UTF-8), nil when NULL.
    func string(_ column: Int32) -> String? {
        guard !isNull(column), let text = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))  // after _text, as SQLite asks
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// The column as bytes, nil when NULL.
    func blob(_ column: Int32) -> [UInt8]? {
        guard !isNull(column) else { return nil }
        let bytes = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        guard let bytes, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// The column in its own storage class.
    func value(_ column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: return .integer(int64(column))
        case SQLITE_FLOAT: return .real(double(column))
        case SQLITE_TEXT: return string(column).map(SQLiteValue.text) ?? .null
        case SQLITE_BLOB: return blob(column).map(SQLiteValue.blob) ?? .null
        default: return .null
        }
    }
}
