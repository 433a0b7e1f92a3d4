//! The store's refusals in words: Django REST framework's and Patchwork's
//! messages, byte for byte, and where the API puts each (a field error or
//! a detail with its status). The pages show the same words, so a
//! refusal reads the same in a flash message as in a client's error.

use patchtrack_store::Refused;

use crate::error::{ApiError, no_match_detail};

/// Where a refusal goes in the API's answer.
enum Place {
    /// 400 `{"field": ["message"]}`.
    Field(&'static str),
    /// 403 `{"detail": "message"}`.
    Forbidden,
    /// 404 `{"detail": "message"}`.
    NotFound,
    /// 409 `{"detail": "message"}`.
    Conflict,
}

fn place(refused: &Refused) -> Place {
    match refused {
        Refused::Required { field }
        | Refused::Blank { field }
        | Refused::TooLong { field, .. }
        | Refused::TooMany { field, .. }
        | Refused::NoSuchObject { field, .. } => Place::Field(field),
        Refused::EmptyBundle | Refused::BundleAcrossProjects => Place::Field("patches"),
        Refused::BundleNameTaken => Place::Field("name"),
        Refused::UnknownState { .. } => Place::Field("state"),
        Refused::NotMaintainer { .. } => Place::Field("delegate"),
        Refused::RelationTooBig { .. } => Place::Field("related"),
        Refused::RelatesUnmaintained | Refused::NotAllowed => Place::Forbidden,
        Refused::RelationConflict | Refused::StateInUse { .. } | Refused::LastState => {
            Place::Conflict
        }
        Refused::NoSuchPatch => Place::NotFound,
    }
}

/// The message Patchwork sends for `refused`.
pub fn message(refused: &Refused) -> String {
    match refused {
        Refused::Required { .. } => "This field is required.".into(),
        Refused::Blank { .. } => "This field may not be blank.".into(),
        Refused::TooLong { max, .. } => {
            format!("Ensure this field has no more than {max} characters.")
        }
        Refused::TooMany { max, .. } => {
            format!("Ensure this field has no more than {max} elements.")
        }
        Refused::NoSuchObject { id, .. } => format!("Invalid pk \"{id}\" - object does not exist."),
        Refused::EmptyBundle => "Bundles cannot be empty".into(),
        Refused::BundleAcrossProjects => "Bundle patches must belong to the same project".into(),
        Refused::BundleNameTaken => "A bundle with this name already exists.".into(),
        Refused::UnknownState { value, slugs } => format!(
            "Invalid state {value}. Expected one of: {}.",
            slugs.join(", ")
        ),
        Refused::NotMaintainer { user, project } => {
            format!("User '{user}' is not a maintainer for project '{project}'")
        }
        // Ours, not upstream's (docs/compatibility.md).
        Refused::RelationTooBig { max, size } => format!(
            "A relation cannot hold more than {max} patches; this change would make it {size}."
        ),
        Refused::RelatesUnmaintained => {
            "At least one patch is part of a project you are not maintaining.".into()
        }
        Refused::RelationConflict => {
            "At least one patch is already part of another relation. You have to explicitly \
             remove a patch from its existing relation before moving it to this one."
                .into()
        }
        Refused::NoSuchPatch => no_match_detail("Patch"),
        // Ours: Django's admin would cascade (or fail with a 500).
        Refused::StateInUse { patches, events } => format!(
            "This state cannot be deleted: {patches} patch(es) are in it and {events} event(s) \
             of their history name it. Move the patches to another state first; a state \
             that was ever used stays."
        ),
        Refused::LastState => "The only state cannot be deleted: new patches need one.".into(),
        Refused::NotAllowed => crate::error::NO_PERMISSION.into(),
    }
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        let text = message(&refused);
        match place(&refused) {
            Place::Field(field) => ApiError::field(field, text),
            Place::Forbidden => ApiError::Forbidden(text),
            Place::NotFound => ApiError::NotFound(text),
            Place::Conflict => ApiError::Conflict(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(refused: Refused) -> (u16, String) {
        let (status, body) = ApiError::from(refused).parts();
        (status.as_u16(), body)
    }

    /// The refusals no HTTP test can provoke: the API checks these first,
    /// so only a request racing a deletion reaches the store's check.
    #[test]
    fn refusals_the_api_prevents_read_as_upstream() {
        assert_eq!(
            wire(Refused::Required { field: "name" }),
            (400, r#"{"name":["This field is required."]}"#.into())
        );
        assert_eq!(
            wire(Refused::NoSuchPatch),
            (
                404,
                r#"{"detail":"No Patch matches the given query."}"#.into()
            )
        );
    }
}
