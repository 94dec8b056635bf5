// The control protocol's contract (requests, results, errors, the client connection) lives in
// its own module, shared with lampctl; code built on Agent (lampd, the tests) sees it through Agent.
@_exported import ControlProtocol
