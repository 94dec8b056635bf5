import ArgumentParser
import Foundation
import LiveView

/// `lamp-ingest user add|list|remove`: the live view's accounts file (docs/live-view.md "Accounts").
struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage the live view's accounts (viewer, operator, scheduler).",
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an account (or change its role and password); the password is read from stdin (one line).")

        @Argument(help: "The account name (letters, digits, '.', '_', '-').")
        var name: String

        @Option(name: .long, help: "viewer (looks), operator (also acknowledges alarms and publishes city overrides) or scheduler (also publishes schedules and the default level).")
        var role: String

        @Option(name: .long, help: "The accounts file (created with mode 0600).")
        var accounts: String

        func run() throws {
            guard let role = AccountRole(rawValue: role) else {
                printError("lamp-ingest: --role must be viewer, operator or scheduler")
                throw IngestExit.usage
            }
            guard let password = readLine(strippingNewline: true), !password.isEmpty else {
                printError("lamp-ingest: give the password on stdin (e.g. `printf '%s\\n' \"$PASSWORD\" | lamp-ingest user add …`)")
                throw IngestExit.usage
            }
            do {
                try AccountsFile(path: accounts).add(name: name, role: role, password: password)
            } catch {
                printError("lamp-ingest: \(error.description)")
                throw IngestExit.usage
            }
            printLine("account \(name) (\(role.rawValue)) written to \(accounts)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts and their roles.")

        @Option(name: .long, help: "The accounts file.")
        var accounts: String

        func run() throws {
            do {
                for account in try AccountsFile(path: accounts).load() { printLine("\(account.name) \(account.role.rawValue)") }
            } catch {
                printError("lamp-ingest: \(error.description)")
                throw IngestExit.usage
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an account (its sessions end at their next request).")

        @Argument var name: String

        @Option(name: .long, help: "The accounts file.")
        var accounts: String

        func run() throws {
            do {
                guard try AccountsFile(path: accounts).remove(name: name) else {
                    printError("lamp-ingest: no account \(name) in \(accounts)")
                    throw IngestExit.usage
                }
            } catch let error as LiveViewError {
                printError("lamp-ingest: \(error.description)")
                throw IngestExit.usage
            }
            printLine("account \(name) removed")
        }
    }
}
