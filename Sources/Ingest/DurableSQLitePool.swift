import GRDB

/// Opens a receiver's SQLite file as a GRDB pool whose commits are on disk when they return:
/// WAL with `synchronous = FULL` (GRDB's pool default, NORMAL, may lose the last commits on a
/// power cut), then creates the schema in one transaction.
enum DurableSQLitePool {
    static func open(path: String, label: String, schema: (Database) throws -> Void) throws -> DatabasePool {
        var config = Configuration()
        config.label = label
        config.busyMode = .timeout(5)
        let pool = try DatabasePool(path: path, configuration: config)
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.inTransaction {
                try schema(db)
                return .commit
            }
        }
        return pool
    }
}
