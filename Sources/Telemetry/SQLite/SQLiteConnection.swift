internal import CSQLite

/// One SQLite database connection: owns the `sqlite3 *` handle, closed by `close()` or in `deinit`.
///
/// Opened with `SQLITE_OPEN_NOMUTEX` (SQLite's multi-thread mode): a connection may move between
/// threads but must be used by one caller at a time. `SerializedConnection` makes sure of that.
/// Only what the spool needs: statements, transactions, a busy timeout.
final class SQLiteConnection {
    /// How `open` opens the file.
    enum Mode {
        /// Read and write; the file is created if it does not exist (its folder must).
        case readWriteCreate
        /// Read only; the file must exist.
        case readOnly
    }

    /// `BEGIN DEFERRED` takes locks when the first statement needs them (reads);
    /// `BEGIN IMMEDIATE` takes the write lock at once, so two writers never deadlock upgrading.
    enum TransactionKind: String {
        case deferred = "DEFERRED"
        case immediate = "IMMEDIATE"
    }

    /// The database file.
    let path: String
    /// nil once `close()` succeeded.
    private var handle: OpaquePointer?
    /// Statements kept prepared between calls, by SQL text (`cachedStatement(sql:)`).
    private var statementCache: [String: SQLiteStatement] = [:]

    private init(path: String, handle: OpaquePointer) {
        self.path = path
        self.handle = handle
    }

    /// Opens the file at `path`, with extended result codes on.
    ///
    /// - Throws: `SQLiteError`, e.g. `SQLITE_CANTOPEN` when the folder does not exist or is not
    ///   readable. Opening is lazy: a file that is not a database fails at its first statement.
    static func open(path: String, mode: Mode) throws(SQLiteError) -> SQLiteConnection {
        let access = mode == .readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, access | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK, let handle else {
            // SQLite allocates a handle even when opening fails; it holds the message and must be closed.
            defer { sqlite3_close_v2(handle) }
            throw SQLiteError(code: code == SQLITE_OK ? SQLITE_INTERNAL : code, connection: handle)
        }
        let connection = SQLiteConnection(path: path, handle: handle)
        try sqliteCheck(sqlite3_extended_result_codes(handle, 1), handle)
        return connection
    }

    deinit {
        statementCache.removeAll()  // finalized first; close_v2 would otherwise wait for them
        sqlite3_close_v2(handle)  // a harmless no-op when already closed (nil)
    }

    /// Finalizes the cached statements and closes the connection. Calling it again does nothing.
    ///
    /// - Throws: `SQLITE_BUSY` if a statement prepared on it is still alive (the connection stays open).
    func close() throws(SQLiteError) {
        guard let handle else { return }
        statementCache.removeAll()
        try sqliteCheck(sqlite3_close(handle), handle)
        self.handle = nil
    }

    /// The open handle; `SQLITE_MISUSE` after `close()`.
    private func openHandle() throws(SQLiteError) -> OpaquePointer {
        guard let handle else {
            throw SQLiteError(extendedResultCode: SQLITE_MISUSE, message: "the connection to \(path) is closed")
        }
        return handle
    }

    /// How long a statement waits for another connection's lock before failing with `SQLITE_BUSY`.
    func setBusyTimeout(_ timeout: Duration) throws(SQLiteError) {
        let (seconds, attoseconds) = timeout.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        let handle = try openHandle()
        try sqliteCheck(sqlite3_busy_timeout(handle, Int32(clamping: milliseconds)), handle)
    }

    // MARK: statements

    /// Runs one or more `;`-separated statements without parameters (`sqlite3_exec`); rows are ignored.
    func execute(sql: String) throws(SQLiteError) {
        let handle = try openHandle()
        try sqliteCheck(sqlite3_exec(handle, sql, nil, nil, nil), handle, sql: sql)
    }

    /// Runs one statement with `?` parameters bound to `arguments` (1, 2, …); rows are ignored.
    func execute(sql: String, arguments: [SQLiteValue]) throws(SQLiteError) {
        try prepare(sql: sql).execute(arguments)
    }

    /// Compiles one statement. Use `cachedStatement(sql:)` for SQL that runs again and again.
    func prepare(sql: String) throws(SQLiteError) -> SQLiteStatement {
        try SQLiteStatement(preparing: sql, on: openHandle())
    }

    /// A prepared statement kept for the connection's lifetime, for SQL with a fixed text
    /// (never for SQL with values spliced in: each text would stay in the cache).
    func cachedStatement(sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let statement = statementCache[sql] { return statement }
        let statement = try prepare(sql: sql)
        statementCache[sql] = statement
        return statement
    }

    /// The first column of the first row as an integer; nil when there is no row or it is NULL.
    func fetchInt64(sql: String, arguments: [SQLiteValue] = []) throws(SQLiteError) -> Int64? {
        try prepare(sql: sql).fetchAll(arguments) { $0.isNull(0) ? nil : $0.int64(0) }.first ?? nil
    }

    /// The first column of every row as text (NULL as "").
    func fetchStrings(sql: String, arguments: [SQLiteValue] = []) throws(SQLiteError) -> [String] {
        try prepare(sql: sql).fetchAll(arguments) { $0.string(0) ?? "" }
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int {
        handle.map { Int(sqlite3_changes($0)) } ?? 0
    }

    /// True between BEGIN and COMMIT/ROLLBACK (also when SQLite rolled back on its own: false then).
    var isInTransaction: Bool {
        handle.map { sqlite3_get_autocommit($0) == 0 } ?? false
    }

    // MARK: transactions

    /// Runs `body` in a transaction: committed when it returns, rolled back when it (or COMMIT) throws.
    /// The first error is rethrown; a failing ROLLBACK does not hide it.
    func transaction<T>(_ kind: TransactionKind, _ body: () throws -> T) throws -> T {
        try execute(sql: "BEGIN \(kind.rawValue) TRANSACTION")
        do {
            let result = try body()
            try execute(sql: "COMMIT TRANSACTION")
            return result
        } catch {
            if isInTransaction { try? execute(sql: "ROLLBACK TRANSACTION") }
            throw error
        }
    }
}

/// A value bound to a statement parameter or read from a column, in SQLite's five storage classes.
enum SQLiteValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}
