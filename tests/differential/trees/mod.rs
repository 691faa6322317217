//! Random kustomization trees, the shapes users write: a base of workloads and what goes with
//! them, optional components, an overlay (sometimes over a middle overlay), with generators,
//! patches of every kind, replacements, labels, annotations, images, replicas, namespaces and
//! name changes. Seeded: the same seed gives the same files, so a divergence found once can be
//! written out and run again (`scripts/differential-trees.sh`).
//!
//! The trees stay inside what users write and what the engine supports: no remote bases, no
//! fields we refuse by name, no YAML 1.1 keywords as plain strings, no list with two elements of
//! one merge key (two containers named alike: an object the API refuses, which Kustomize
//! collapses), and none of the deliberate differences' own shapes (ports with and without
//! `protocol` in one merge, `$patch` in custom lists, `$patch: replace` of a whole object), which
//! have cases of their own.

mod layers;
mod patches;
mod resources;

use serde_json::Value;

/// splitmix64: small, fast and the same everywhere; plus a counter for unique names.
pub struct Rng(u64, u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15, 0)
    }

    /// A number no earlier call returned, for names that must not collide.
    pub fn serial(&mut self) -> u64 {
        self.1 += 1;
        self.1
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A generated tree: files relative to its root, and the directory to render.
pub struct Tree {
    pub files: Vec<(String, String)>,
    pub render: &'static str,
}

/// A resource the generator made, remembered so later layers can aim patches at it.
#[derive(Clone)]
pub struct Made {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub name: String,
    /// Container names of a workload.
    pub containers: Vec<String>,
    /// Images used, for `images` entries.
    pub images: Vec<String>,
    /// Data keys of a ConfigMap or Secret.
    pub keys: Vec<String>,
    pub body: Value,
}

/// Everything layers may refer to.
#[derive(Default)]
pub struct World {
    pub resources: Vec<Made>,
    /// Names of the base's ConfigMap generators.
    pub generated: Vec<String>,
    /// The workload refers to the base's generated ConfigMap `settings`.
    pub settings: bool,
}

impl World {
    pub fn of_kind(&self, kind: &str) -> Vec<&Made> {
        self.resources.iter().filter(|m| m.kind == kind).collect()
    }
}

/// Writes `v` as YAML.
pub fn yaml(v: &Value) -> String {
    serde_yaml::to_string(v).expect("JSON values are always YAML")
}

pub fn generate(seed: u64) -> Tree {
    let mut rng = Rng::new(seed);
    let mut files = Vec::new();
    let mut world = World::default();
    resources::base(&mut rng, &mut world, &mut files);
    let components = layers::components(&mut rng, &world, &mut files);
    let middle = rng.chance(20);
    if middle {
        layers::overlay(&mut rng, &world, "mid", &["../base"], &[], &mut files);
    }
    let mut below = vec![if middle { "../mid" } else { "../base" }];
    if rng.chance(15) {
        resources::second_base(&mut rng, &mut files);
        below.push("../extra");
    }
    let comps: Vec<String> = components.iter().map(|c| format!("../{c}")).collect();
    layers::overlay(&mut rng, &world, "overlay", &below, &comps, &mut files);
    Tree { files, render: "overlay" }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_same_seed_gives_the_same_tree() {
        let a = super::generate(7);
        let b = super::generate(7);
        assert_eq!(a.files, b.files);
        assert_ne!(super::generate(8).files, a.files);
    }
}
