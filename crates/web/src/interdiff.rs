//! Two versions of a series side by side, for the API's interdiff and its
//! page: which series to compare with (the one named, else the version
//! this one revises), their patches with bodies, and the comparison.

use patchtrack_mail::interdiff::{Interdiff, Side, interdiff};
use patchtrack_store::{Patch, Series, Store, StoreError};

/// Two versions compared.
pub(crate) struct Compared {
    /// The series asked about.
    pub series: Series,
    /// The series it is compared with.
    pub against: Series,
    /// `series`' patches, in number order.
    pub new: Vec<Patch>,
    /// `against`'s patches, in number order.
    pub old: Vec<Patch>,
    /// The pairs, additions and drops, indexing `old` and `new`.
    pub diff: Interdiff,
}

/// Why there is nothing to compare.
pub(crate) enum Refusal {
    /// No such series.
    NoSeries,
    /// `against` is not a number.
    NotANumber,
    /// No `against`, and lineage knows no previous version.
    NoPrevious,
    /// `against` names no series of the same project.
    NoAgainst(i64),
}

impl Refusal {
    /// What a client is told (a 400's field error, or the 404's subject).
    pub(crate) fn message(&self) -> String {
        match self {
            Refusal::NoSeries => "No Series matches the given query.".into(),
            Refusal::NotANumber => "A valid integer is required.".into(),
            Refusal::NoPrevious => {
                "This series revises no known version: name the series to compare with.".into()
            }
            Refusal::NoAgainst(id) => format!("Invalid pk \"{id}\" - object does not exist."),
        }
    }
}

fn side(p: &Patch) -> Side<'_> {
    let body = p.body.as_ref();
    Side {
        number: p.number.unwrap_or(0),
        name: &p.name,
        content: body.and_then(|b| b.content.as_deref()).unwrap_or(""),
        diff: body.and_then(|b| b.diff.as_deref()).unwrap_or(""),
    }
}

/// Compares series `id` with `against` (the raw query value), or with
/// the version it revises.
pub(crate) async fn compare(
    store: &Store,
    id: i64,
    against: Option<&str>,
) -> Result<Result<Compared, Refusal>, StoreError> {
    let Some(series) = store.series(id).await? else {
        return Ok(Err(Refusal::NoSeries));
    };
    let against = match against {
        Some(a) => match a.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return Ok(Err(Refusal::NotANumber)),
        },
        None => {
            let previous = store
                .series_lineage(&[id])
                .await?
                .remove(&id)
                .and_then(|l| l.previous.last().map(|p| p.id));
            match previous {
                Some(p) => p,
                None => return Ok(Err(Refusal::NoPrevious)),
            }
        }
    };
    let Some(other) = store
        .series(against)
        .await?
        .filter(|o| o.project_id == series.project_id)
    else {
        return Ok(Err(Refusal::NoAgainst(against)));
    };
    let old = store
        .patches_by_ids(&store.series_patch_ids(other.id).await?)
        .await?;
    let new = store
        .patches_by_ids(&store.series_patch_ids(series.id).await?)
        .await?;
    let labels = (
        format!("v{}", other.version),
        format!("v{}", series.version),
    );
    let old_sides: Vec<Side<'_>> = old.iter().map(side).collect();
    let new_sides: Vec<Side<'_>> = new.iter().map(side).collect();
    let diff = interdiff(&old_sides, &new_sides, (&labels.0, &labels.1));
    Ok(Ok(Compared {
        series,
        against: other,
        new,
        old,
        diff,
    }))
}
