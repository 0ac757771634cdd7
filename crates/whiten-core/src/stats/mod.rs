//! Measurements on signals and responses (in progress).
