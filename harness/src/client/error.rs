//! The client's errors.

/// Why the client could not be set up, connect, or read an answer's body.
/// The messages are the ones a user sees; the kinds let a caller tell a
/// credential problem from a network one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// A certificate, chain or key that does not parse or cannot sign.
    #[error("{0}")]
    Credentials(String),
    /// The TLS configuration could not be built.
    #[error("{0}")]
    Tls(String),
    /// No connection (kept-alive connections, `keepalive::connect_to`).
    #[error("{0}")]
    Connect(String),
    /// An answer's body could not be read, or ran past the cap.
    #[error("{0}")]
    Body(String),
}

/// The callers that still report errors as text (the load generator, the
/// Locust users) keep `?`.
impl From<ClientError> for String {
    fn from(e: ClientError) -> String {
        e.to_string()
    }
}
