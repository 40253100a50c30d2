//! actix-web integration (being written).
