import Foundation
import PostgresNIO

/// A PostgreSQL connection URL, as libpq writes it:
/// `postgres://user:password@host:5432/database?sslmode=require`.
///
/// `sslmode` is `disable`, `prefer` (the default: TLS if the server offers it) or `require`;
/// `host=/run/postgresql` in the query connects over that Unix socket directory instead of TCP.
/// User name and password may be percent-encoded.
public struct PostgresLocation: Sendable, Equatable {
    /// How to reach the server and what to ask for.
    public var host: String
    public var port: Int
    /// A Unix socket directory, if set (`host=/path`): the socket is `<dir>/.s.PGSQL.<port>`.
    public var socketDirectory: String?
    public var user: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode

    /// Whether the connection is encrypted.
    public enum TLSMode: String, Sendable, Equatable, CaseIterable {
        case disable, prefer, require
    }

    /// Reads `url`; every problem is an `invalidArgument` naming the part that is wrong.
    public init(url: String) throws(IngestError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw IngestError(
                .invalidArgument, "the PostgreSQL URL is not valid; write postgres://user:password@host:5432/database")
        }
        let query = components.queryItems ?? []
        let socket = query.first { $0.name == "host" }?.value
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        socketDirectory = socket.flatMap { $0.hasPrefix("/") ? $0 : nil }
        port = components.port ?? 5432
        guard (1...65535).contains(port) else {
            throw IngestError(.invalidArgument, "the PostgreSQL URL's port \(port) is not 1–65535")
        }
        guard let user = components.percentEncodedUser.flatMap({ $0.removingPercentEncoding }), !user.isEmpty else {
            throw IngestError(.invalidArgument, "the PostgreSQL URL names no user; write postgres://user:password@host/database")
        }
        self.user = user
        password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? user : path
        let mode = query.first { $0.name == "sslmode" }?.value ?? TLSMode.prefer.rawValue
        guard let tls = TLSMode(rawValue: mode) else {
            throw IngestError(
                .invalidArgument, "sslmode=\(mode) is not supported; use disable, prefer or require")
        }
        tlsMode = tls
    }

    /// The URL with another database (tests create one database each).
    public func with(database: String) -> PostgresLocation {
        var copy = self
        copy.database = database
        return copy
    }

    /// The URL without its password, for logs and messages.
    public var redacted: String {
        let place = socketDirectory.map { "\(host)?host=\($0)" } ?? "\(host):\(port)"
        return "postgres://\(user)@\(place)/\(database)"
    }

    /// The client configuration; the pool holds at most `poolSize` connections.
    func clientConfiguration(poolSize: Int, connectTimeout: Duration) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let socketDirectory {
            configuration = PostgresClient.Configuration(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        } else {
            let tls: PostgresClient.Configuration.TLS =
                switch tlsMode {
                case .disable: .disable
                case .prefer: .prefer(.makeClientConfiguration())
                case .require: .require(.makeClientConfiguration())
                }
            configuration = PostgresClient.Configuration(
                host: host, port: port, username: user, password: password, database: database, tls: tls)
        }
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }
}
