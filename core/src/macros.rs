//! The core's logging, in one place (as smoltcp does it): `fief_trace!`, `fief_debug!`,
//! `fief_info!`, `fief_warn!` and `fief_error!` for the whole crate, mapped at compile time to
//!
//! * `defmt` with the `defmt` feature (bare metal: the formatting happens on the host),
//! * the `log` crate with the `log` feature (the host runner, tests),
//! * nothing otherwise: the arguments are type-checked but never evaluated.
//!
//! With both features, `defmt` wins. Logging never changes what the core does: the
//! arguments must be side-effect free (a level that is filtered out evaluates nothing), and
//! formatting uses plain `{}` placeholders with arguments that are both `Display` and
//! `defmt::Format` (integers, `&str`, the core's error types).

#[cfg(feature = "defmt")]
#[allow(unused_macros)]
macro_rules! fief_log {
    (trace, $($arg:expr),+ $(,)?) => { ::defmt::trace!($($arg),+) };
    (debug, $($arg:expr),+ $(,)?) => { ::defmt::debug!($($arg),+) };
    (info, $($arg:expr),+ $(,)?) => { ::defmt::info!($($arg),+) };
    (warn, $($arg:expr),+ $(,)?) => { ::defmt::warn!($($arg),+) };
    (error, $($arg:expr),+ $(,)?) => { ::defmt::error!($($arg),+) };
}

#[cfg(all(feature = "log", not(feature = "defmt")))]
#[allow(unused_macros)]
macro_rules! fief_log {
    (trace, $($arg:expr),+ $(,)?) => { ::log::trace!($($arg),+) };
    (debug, $($arg:expr),+ $(,)?) => { ::log::debug!($($arg),+) };
    (info, $($arg:expr),+ $(,)?) => { ::log::info!($($arg),+) };
    (warn, $($arg:expr),+ $(,)?) => { ::log::warn!($($arg),+) };
    (error, $($arg:expr),+ $(,)?) => { ::log::error!($($arg),+) };
}

#[cfg(not(any(feature = "log", feature = "defmt")))]
#[allow(unused_macros)]
macro_rules! fief_log {
    ($level:ident, $fmt:expr $(, $arg:expr)* $(,)?) => {{
        if false {
            let _ = $fmt;
            $( let _ = &$arg; )*
        }
    }};
}

#[allow(unused_macros)]
macro_rules! fief_trace {
    ($($arg:expr),+ $(,)?) => { fief_log!(trace, $($arg),+) };
}

#[allow(unused_macros)]
macro_rules! fief_debug {
    ($($arg:expr),+ $(,)?) => { fief_log!(debug, $($arg),+) };
}

#[allow(unused_macros)]
macro_rules! fief_info {
    ($($arg:expr),+ $(,)?) => { fief_log!(info, $($arg),+) };
}

#[allow(unused_macros)]
macro_rules! fief_warn {
    ($($arg:expr),+ $(,)?) => { fief_log!(warn, $($arg),+) };
}

#[allow(unused_macros)]
macro_rules! fief_error {
    ($($arg:expr),+ $(,)?) => { fief_log!(error, $($arg),+) };
}
