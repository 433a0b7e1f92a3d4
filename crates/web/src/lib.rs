//! `patchtrack-web`: the HTTP face of patchtrack — Patchwork's REST API
//! (1.0 to 1.4), the downloads clients fetch, and the web pages.
//!
//! Nothing is here yet: the API comes with issue 4 and the pages with
//! issue 5. The crate exists so the workspace has its final shape and the
//! dependency direction (cli → web → store → mail) is fixed from the start.
