use companion_core::CoreError;
use serde::ser::SerializeStruct;

/// Every error a command returns. The UI receives `{kind, message}` and switches on `kind`.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("Couldn't open the browser: {0}")]
    Browser(String),
    #[error("Companion couldn't start: {0}")]
    Startup(String),
    #[error("Something went wrong inside Companion: {0}")]
    Internal(String),
}

impl AppError {
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::Core(error) => error.kind(),
            AppError::Browser(_) => "browser",
            AppError::Startup(_) => "startup",
            AppError::Internal(_) => "internal",
        }
    }
}

impl serde::Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("AppError", 2)?;
        out.serialize_field("kind", self.kind())?;
        out.serialize_field("message", &self.to_string())?;
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_reach_the_ui_as_kind_and_message() {
        let json = serde_json::to_value(AppError::Browser("no xdg-open".into())).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "browser", "message": "Couldn't open the browser: no xdg-open"})
        );
    }
}
