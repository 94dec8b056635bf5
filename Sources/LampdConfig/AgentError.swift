/// A problem that stops the agent from starting, in words an installer acts on.
public struct AgentError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
