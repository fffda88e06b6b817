//! The wrap state of values: is a value a *wrapper* (DDP, FSDP, `accelerator.prepare`,
//! `fabric.setup`, DeepSpeed's engine, `torch.compile`), the *inner module of a wrapper*
//! (`W.module`, `accelerator.unwrap_model(W)`, a helper that returns either), a part of one of
//! these (a submodule or method reached through it), or none of them?
//!
//! NMF005–NMF008 ask this question of receivers and callees; it is answered once, here, and
//! memoised. Unlike receiver types ([`crate::semantic::infer`]), which are flow-insensitive,
//! wrap states of a function's own names follow the order of the code: `model = DDP(model)`
//! makes `model` a wrapper only from that statement on, and `ddp = DDP(model)` makes the name
//! `model` the inner module of `ddp` from there (see [`eval`] for how far it follows values).
//!
//! By job: [`index`] the file's functions, bindings in order, calls and tests, built once;
//! [`eval`] the states of expressions; [`training`] whether a call runs in code that trains
//! (a `backward` follows); [`names`] the tables of wrappers and of methods that compute nothing;
//! [`callers`] the calls of the file's functions in other files of the project; [`hparams`]
//! SpeechBrain's `self.hparams` aliases of the modules `Brain` wraps; [`trained`] which
//! submodules of a wrapped module no optimizer of the file trains, or are frozen.

pub mod callers;
pub mod eval;
pub mod hparams;
pub mod index;
pub mod names;
pub mod trained;
pub mod training;

use std::fmt;

use ruff_text_size::TextRange;

/// Which wrapper a value is, or came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WrapperKind {
    /// `DistributedDataParallel` (torch's or apex's).
    DistributedDataParallel,
    /// `torch.nn.DataParallel`.
    DataParallel,
    /// `FullyShardedDataParallel` (torch's or fairscale's).
    FullyShardedDataParallel,
    /// FSDP2's `fully_shard(module)`, which shards the module in place.
    FullyShard,
    /// `accelerator.prepare(model)`: DDP, FSDP or DeepSpeed, as configured.
    Accelerate,
    /// Lightning Fabric's `fabric.setup(model)`: a `_FabricModule` whose attributes are the
    /// module's, around the strategy's wrapper.
    Fabric,
    /// DeepSpeed's engine, from `deepspeed.initialize`.
    DeepSpeed,
    /// `torch.compile(model)`.
    Compiled,
    /// The code itself says so (`x.module if hasattr(x, "module") else x`), not which one.
    Unknown,
}

impl WrapperKind {
    /// The wrapper hands unknown attributes to the module it wraps (`__getattr__`), so
    /// `W.encoder(x)` runs the module's submodule without the wrapper's forward.
    pub fn delegates_attributes(self) -> bool {
        matches!(
            self,
            WrapperKind::Fabric
                | WrapperKind::FullyShardedDataParallel
                | WrapperKind::FullyShard
                | WrapperKind::DeepSpeed
        )
    }

    /// FSDP, either version: parameters are sharded and gathered only by the wrapper's forward.
    pub fn shards(self) -> bool {
        matches!(
            self,
            WrapperKind::FullyShardedDataParallel | WrapperKind::FullyShard
        )
    }

    /// How users write it, for messages.
    pub fn display(self) -> &'static str {
        match self {
            WrapperKind::DistributedDataParallel => "DistributedDataParallel",
            WrapperKind::DataParallel => "DataParallel",
            WrapperKind::FullyShardedDataParallel => "FullyShardedDataParallel",
            WrapperKind::FullyShard => "fully_shard",
            WrapperKind::Accelerate => "accelerator.prepare",
            WrapperKind::Fabric => "fabric.setup",
            WrapperKind::DeepSpeed => "deepspeed.initialize",
            WrapperKind::Compiled => "torch.compile",
            WrapperKind::Unknown => "a wrapper",
        }
    }
}

/// Where a wrapper came from: the call that made it, and how the code names it, when known.
/// Two states with the same origin are the same wrapper.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Origin {
    /// The call that made the wrapper (`DDP(model, ...)`).
    pub created: Option<TextRange>,
    /// The wrapper's expression as written where the inner module was taken from it
    /// (`model` in `model.module`, `ddp` in `ddp = DDP(model)`).
    pub written: Option<Box<str>>,
    /// The function (or top level) whose code `written` is from.
    pub scope: Option<index::FunctionId>,
}

/// One thing a value may be.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Wrap {
    /// The wrapper itself: calling it runs its forward.
    Wrapper(WrapperKind, Origin),
    /// The module inside a wrapper: calling it skips the wrapper.
    Inner(WrapperKind, Origin),
    /// An attribute of the inner module (a submodule or a method), or what an accessor such as
    /// `get_decoder()` returns from it.
    InnerPart(WrapperKind, Origin),
    /// An attribute of a wrapper that hands its attributes to the inner module
    /// ([`WrapperKind::delegates_attributes`]): `fabric_model.encoder`.
    WrapperPart(WrapperKind, Origin),
}

impl Wrap {
    pub fn kind(&self) -> WrapperKind {
        match self {
            Wrap::Wrapper(kind, _)
            | Wrap::Inner(kind, _)
            | Wrap::InnerPart(kind, _)
            | Wrap::WrapperPart(kind, _) => *kind,
        }
    }

    pub fn origin(&self) -> &Origin {
        match self {
            Wrap::Wrapper(_, origin)
            | Wrap::Inner(_, origin)
            | Wrap::InnerPart(_, origin)
            | Wrap::WrapperPart(_, origin) => origin,
        }
    }
}

/// At most this many possibilities are kept per value: real code has one or two.
const MAX_ATOMS: usize = 16;

/// What a value may be: any of its atoms (none: nothing is known to wrap it). A tuple or list
/// whose positions are known keeps one state per element, for unpacking
/// (`model, opt = accelerator.prepare(model, opt)`); its atoms are then the union of its
/// elements', which is also what an element at an unknown position may be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WrapState {
    atoms: Vec<Wrap>,
    elements: Option<Vec<WrapState>>,
    /// Some way the value comes is none of the atoms (`raw = ddp.module if c else other`).
    partial: bool,
}

impl WrapState {
    /// Nothing is known to wrap the value.
    pub fn none() -> Self {
        Self::default()
    }

    pub fn of(atom: Wrap) -> Self {
        Self {
            atoms: vec![atom],
            elements: None,
            partial: false,
        }
    }

    /// The value is one of `states`, each possible: where some are something and others
    /// nothing known, the result is [`WrapState::is_partial`].
    pub fn either(states: impl IntoIterator<Item = WrapState>) -> Self {
        let mut merged = WrapState::none();
        let mut empty = false;
        let mut known = false;
        for state in states {
            if state.atoms.is_empty() && state.elements.is_none() {
                empty = true;
            } else {
                known = true;
            }
            merged = merged.union(state);
        }
        merged.partial |= empty && known;
        merged
    }

    /// Some way the value comes is none of its atoms.
    pub fn is_partial(&self) -> bool {
        self.partial
    }

    /// A tuple or list with these elements.
    pub fn tuple(elements: Vec<WrapState>) -> Self {
        let mut state = WrapState::none();
        for element in &elements {
            state.add_atoms(element);
        }
        state.elements = Some(elements);
        state
    }

    pub fn is_none(&self) -> bool {
        self.atoms.is_empty()
    }

    /// A tuple or list whose elements' positions are known.
    pub fn has_elements(&self) -> bool {
        self.elements.is_some()
    }

    pub fn atoms(&self) -> &[Wrap] {
        &self.atoms
    }

    pub fn push(&mut self, atom: Wrap) {
        if self.atoms.len() < MAX_ATOMS && !self.atoms.contains(&atom) {
            self.atoms.push(atom);
        }
    }

    fn add_atoms(&mut self, other: &WrapState) {
        for atom in &other.atoms {
            self.push(atom.clone());
        }
    }

    /// Either this or `other`. Element positions survive only when both agree on them (or
    /// one side is known to be nothing).
    #[must_use]
    pub fn union(mut self, other: WrapState) -> Self {
        let mine_empty = self.atoms.is_empty() && self.elements.is_none();
        let theirs_empty = other.atoms.is_empty() && other.elements.is_none();
        self.partial |= other.partial;
        self.add_atoms(&other);
        self.elements = match (self.elements.take(), other.elements) {
            (Some(mine), Some(theirs)) if mine.len() == theirs.len() => Some(
                mine.into_iter()
                    .zip(theirs)
                    .map(|(mine, theirs)| mine.union(theirs))
                    .collect(),
            ),
            (Some(mine), None) if theirs_empty => Some(mine),
            (None, Some(theirs)) if mine_empty => Some(theirs),
            _ => None,
        };
        self
    }

    /// The element at `index` of an unpacked value.
    #[must_use]
    pub fn element(&self, index: usize) -> WrapState {
        match &self.elements {
            Some(elements) => elements.get(index).cloned().unwrap_or_default(),
            None => WrapState {
                atoms: self.atoms.clone(),
                elements: None,
                partial: self.partial,
            },
        }
    }

    /// An element of the value at a position nobody knows (`x[i]`, `for m in x`).
    #[must_use]
    pub fn any_element(&self) -> WrapState {
        WrapState {
            atoms: self.atoms.clone(),
            elements: None,
            partial: self.partial,
        }
    }

    /// Keeps only the atoms `keep` accepts.
    pub fn retain(&mut self, keep: impl FnMut(&Wrap) -> bool) {
        self.atoms.retain(keep);
        self.elements = None;
    }

    /// The first atom the value may be that `wanted` accepts.
    pub fn find(&self, mut wanted: impl FnMut(&Wrap) -> bool) -> Option<&Wrap> {
        self.atoms.iter().find(|atom| wanted(atom))
    }
}

impl fmt::Display for WrapState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.atoms.is_empty() {
            return f.write_str("not wrapped");
        }
        let mut shown: Vec<String> = self
            .atoms
            .iter()
            .map(|atom| {
                let what = match atom {
                    Wrap::Wrapper(..) => "wrapper",
                    Wrap::Inner(..) => "inner module",
                    Wrap::InnerPart(..) => "part of the inner module",
                    Wrap::WrapperPart(..) => "part of the wrapper",
                };
                format!("{what} ({})", atom.kind().display())
            })
            .collect();
        shown.dedup();
        f.write_str(&shown.join(" | "))
    }
}

#[cfg(test)]
mod tests;
