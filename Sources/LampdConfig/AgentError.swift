import SystemSupport

/// A problem that stops the agent from starting, in words an installer acts on.
public struct AgentError: ActionableError {
    /// Stable code; `agent.start-failed` unless the thrower names a finer one.
    public var code: String
    public var message: String
    public var description: String { message }
    public init(_ message: String, code: String = "agent.start-failed") {
        self.code = code
        self.message = message
    }
}
