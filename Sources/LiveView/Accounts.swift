import Foundation
import HummingbirdBcrypt
import SystemSupport

/// What a signed-in person may do (docs/live-view.md "Roles"), each role all the one before it may:
/// a viewer looks; an operator also acknowledges alarms and publishes city overrides (signed with
/// the city's operator key); a scheduler also publishes schedules and the default level (signed
/// with the scheduler key).
public enum AccountRole: String, Sendable, Codable, CaseIterable, Comparable {
    case viewer
    case `operator`
    case scheduler

    public static func < (lhs: AccountRole, rhs: AccountRole) -> Bool { lhs.rank < rhs.rank }

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .scheduler: 2
        }
    }

    /// May acknowledge alarms.
    public var mayAcknowledge: Bool { self >= .operator }

    /// May publish a document signed with the city key of `documentRole` (`operator`, `scheduler`).
    public func mayPublish(documentRole: String) -> Bool {
        switch documentRole {
        case "operator": self >= .operator
        case "scheduler": self >= .scheduler
        default: false
        }
    }
}

/// One person who may sign in: the name, the role and the bcrypt hash of the password.
public struct Account: Sendable, Equatable {
    public var name: String
    public var role: AccountRole
    public var passwordHash: String
}

/// The accounts file (docs/live-view.md "Accounts"): one line `NAME ROLE BCRYPT-HASH` per person,
/// mode 0600, written only by `lamp-ingest user add|remove`. Read again when it changes.
public struct AccountsFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Names of 1–64 letters, digits, `.`, `_`, `-` (they go into the audit log and the cookie).
    public static func checkName(_ name: String) throws(LiveViewError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard (1...64).contains(name.count), name.allSatisfy(allowed.contains) else {
            throw LiveViewError("the account name \"\(name.prefix(64))\" is not 1–64 letters, digits, '.', '_' or '-'")
        }
    }

    /// Every account; an absent file has none.
    public func load() throws(LiveViewError) -> [Account] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw LiveViewError("cannot read the accounts file \(path): \(error)")
        }
        var accounts: [Account] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(separator: " ")
            if fields.isEmpty || line.hasPrefix("#") { continue }
            guard fields.count == 3, let role = AccountRole(rawValue: String(fields[1])), fields[2].hasPrefix("$2") else {
                throw LiveViewError("\(path):\(number + 1): not `NAME viewer|operator|scheduler BCRYPT-HASH`: write it with `lamp-ingest user add`")
            }
            accounts.append(Account(name: String(fields[0]), role: role, passwordHash: String(fields[2])))
        }
        return accounts
    }

    /// Adds `name` (or replaces its role and password) and writes the file with mode 0600.
    public func add(name: String, role: AccountRole, password: String) throws(LiveViewError) {
        try Self.checkName(name)
        guard password.count >= 8, password.utf8.count <= 72 else {
            throw LiveViewError("the password must be 8 to 72 bytes long (bcrypt reads no further)")
        }
        var accounts = try load().filter { $0.name != name }
        accounts.append(Account(name: name, role: role, passwordHash: Bcrypt.hash(password, cost: 10)))
        try save(accounts)
    }

    /// Removes `name`; false if there was no such account.
    public func remove(name: String) throws(LiveViewError) -> Bool {
        let accounts = try load()
        let kept = accounts.filter { $0.name != name }
        guard kept.count != accounts.count else { return false }
        try save(kept)
        return true
    }

    /// The account if `password` is its password (bcrypt: slow on purpose).
    public func verify(name: String, password: String) throws(LiveViewError) -> Account? {
        guard let account = try load().first(where: { $0.name == name }), password.utf8.count <= 72 else {
            // Same work for an unknown name, so the answer's delay does not tell which names exist.
            _ = Bcrypt.verify(password, hash: Self.decoyHash)
            return nil
        }
        return Bcrypt.verify(password, hash: account.passwordHash) ? account : nil
    }

    private static let decoyHash = Bcrypt.hash("decoy password", cost: 10)

    private func save(_ accounts: [Account]) throws(LiveViewError) {
        let text = "# lamp-ingest live-view accounts: NAME ROLE BCRYPT-HASH (write with `lamp-ingest user add`)\n"
            + accounts.map { "\($0.name) \($0.role.rawValue) \($0.passwordHash)\n" }.joined()
        do {
            try DurableFile.replace(path: path, with: Array(text.utf8), mode: 0o600)
        } catch {
            throw LiveViewError("cannot write the accounts file \(path): \(error)")
        }
    }
}

/// A live-view failure with what to do about it.
public struct LiveViewError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
