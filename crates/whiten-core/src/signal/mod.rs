//! Natural-image signals (in progress).
