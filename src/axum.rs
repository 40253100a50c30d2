//! axum extractor (being written).
