//! The domain's error type. Every message is one line that starts with the name of the field at fault,
//! so shells can show it as is and tests can check which input was wrong.

use rust_decimal::Decimal;

/// Everything a domain rule can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{field}: expected {expected}, got {input:?}")]
    InvalidDecimal { field: &'static str, input: String, expected: &'static str },
    #[error("{field}: {reason}")]
    OutOfRange { field: &'static str, reason: String },
    #[error("{field}: expected one of {allowed}, got {input:?}")]
    InvalidChoice { field: &'static str, input: String, allowed: String },
    #[error("{field}: cannot close {requested}, only {open} is open")]
    OverClose { field: &'static str, requested: Decimal, open: Decimal },
    #[error("{field}: the amount is too large to compute exactly")]
    Overflow { field: &'static str },
    #[error("{field}: {reason}")]
    Rule { field: &'static str, reason: String },
}

impl DomainError {
    /// The input field the error concerns.
    pub fn field(&self) -> &'static str {
        match self {
            DomainError::InvalidDecimal { field, .. }
            | DomainError::OutOfRange { field, .. }
            | DomainError::InvalidChoice { field, .. }
            | DomainError::OverClose { field, .. }
            | DomainError::Overflow { field }
            | DomainError::Rule { field, .. } => field,
        }
    }
}
