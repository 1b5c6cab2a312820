//! Property test of flat-view rendering against a naive reference model.
//!
//! The model keeps the topology as a plain list of regions (kind, size, owner, container,
//! address, priority, enabled, insertion sequence) and answers "who answers at this address,
//! at which offset" by evaluating QEMU's rules directly and recursively:
//!
//! * in a container, the enabled children covering the address are tried in order (priority
//!   descending, then most recently added or moved first); the first that *resolves* the
//!   address wins (a container or alias with a hole there does not, so lower siblings show
//!   through); if none does, the container answers itself when it has callbacks;
//! * an alias resolves its target at `addr - alias_start + alias_offset`, relative to the
//!   target's own origin; a destroyed or disabled target resolves nothing;
//! * a disabled or destroyed region resolves nothing.
//!
//! Random operation sequences (create, add/remove subregion, enable/disable, move, priority,
//! alias retarget, destroy region, create/destroy owner, DMA lease map/access/unmap) are
//! applied both to a real
//! [`Memory`](fief_core::memory::Memory) and to the model; every operation's result (`Ok` or
//! the exact refusal) must match what the model predicts, and after each one the published
//! view must match the model at every 16-byte unit of a 0x400-byte root (first and last
//! byte of each unit) and just past it.
#![allow(clippy::unwrap_used)]

use fief_tests::render_model::{run, NewKind, Op, Pick, ROOT_SIZE, UNIT};
use proptest::prelude::*;
use proptest::test_runner::Config;

fn pick() -> impl Strategy<Value = Pick> {
    (any::<usize>(), prop::bool::weighted(0.85)).prop_map(|(raw, sensible)| Pick { raw, sensible })
}

fn new_kind() -> impl Strategy<Value = NewKind> {
    prop_oneof![
        4 => Just(NewKind::Ram),
        3 => Just(NewKind::Mmio),
        3 => any::<bool>().prop_map(|ops| NewKind::Container { ops }),
        1 => Just(NewKind::Reservation),
        3 => (pick(), 0..16u64).prop_map(|(target, offset)| NewKind::Alias {
            target,
            offset: offset * UNIT,
        }),
    ]
}

fn create() -> impl Strategy<Value = Op> {
    (any::<usize>(), new_kind(), 1..=32u64).prop_map(|(owner, kind, units)| Op::Create {
        owner,
        kind,
        units,
    })
}

/// A few regions, then anything (creations included).
fn ops() -> impl Strategy<Value = Vec<Op>> {
    (
        proptest::collection::vec(create(), 3..10),
        proptest::collection::vec(op(), 1..40),
    )
        .prop_map(|(mut a, b)| {
            a.extend(b);
            a
        })
}

fn op() -> impl Strategy<Value = Op> {
    let idx = any::<usize>;
    let prio = || -1..=1i32;
    prop_oneof![
        5 => create(),
        1 => idx().prop_map(|parent| Op::CreateOwner { parent }),
        14 => (pick(), pick(), 0..48u64, prio()).prop_map(|(container, sub, units, priority)| {
            Op::Add {
                container,
                sub,
                units,
                priority,
            }
        }),
        2 => (pick(), any::<bool>()).prop_map(|(sub, wrong)| Op::Remove { sub, wrong }),
        3 => (pick(), prop::bool::weighted(0.7)).prop_map(|(region, enabled)| Op::SetEnabled { region, enabled }),
        3 => (pick(), 0..48u64).prop_map(|(region, units)| Op::SetAddress { region, units }),
        2 => (pick(), prio()).prop_map(|(region, priority)| Op::SetPriority { region, priority }),
        3 => (pick(), pick(), 0..16u64).prop_map(|(alias, target, offset)| Op::Retarget {
            alias,
            target,
            offset: offset * UNIT
        }),
        1 => pick().prop_map(|region| Op::DestroyRegion { region }),
        1 => idx().prop_map(|owner| Op::DestroyOwner { owner }),
        3 => (0..ROOT_SIZE + 2 * UNIT, 1..200u64, any::<bool>())
            .prop_map(|(addr, len, write)| Op::DmaMap { addr, len, write }),
        4 => (idx(), any::<u64>(), any::<u64>(), any::<bool>(), any::<u8>()).prop_map(
            |(lease, offset, n, write, seed)| Op::DmaAccess {
                lease,
                offset,
                n,
                write,
                seed
            }
        ),
        2 => idx().prop_map(|lease| Op::DmaUnmap { lease }),
    ]
}

proptest! {
    #![proptest_config(Config {
        // PROPTEST_CASES=... for a longer search.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn rendering_matches_reference_model(ops in ops()) {
        run(&ops).map_err(TestCaseError::fail)?;
    }
}

/// A hand-written sequence through the same harness: aliases of containers with holes,
/// priorities, a disabled target, retargeting and owner destruction.
#[test]
fn reference_model_smoke() {
    use NewKind::*;
    let at = |raw| Pick {
        raw,
        sensible: false,
    };
    let ops = [
        Op::Create {
            owner: 1,
            kind: Container { ops: false },
            units: 16,
        },
        Op::Create {
            owner: 2,
            kind: Ram,
            units: 4,
        },
        Op::Create {
            owner: 0,
            kind: Container { ops: true },
            units: 32,
        },
        Op::Create {
            owner: 3,
            kind: Alias {
                target: at(1),
                offset: 0x20,
            },
            units: 8,
        },
        Op::Add {
            container: at(1),
            sub: at(2),
            units: 2,
            priority: 0,
        },
        Op::Add {
            container: at(0),
            sub: at(3),
            units: 0,
            priority: 0,
        },
        Op::Add {
            container: at(0),
            sub: at(1),
            units: 4,
            priority: 1,
        },
        Op::Add {
            container: at(3),
            sub: at(4),
            units: 1,
            priority: 2,
        },
        Op::SetEnabled {
            region: at(1),
            enabled: false,
        },
        Op::SetEnabled {
            region: at(1),
            enabled: true,
        },
        Op::Retarget {
            alias: at(4),
            target: at(2),
            offset: 0x10,
        },
        Op::SetPriority {
            region: at(1),
            priority: -1,
        },
        Op::DestroyOwner { owner: 1 },
        Op::Retarget {
            alias: at(4),
            target: at(3),
            offset: 0,
        },
    ];
    run(&ops).unwrap();
}
