//! tower layer (being written).
