//! The law packs shipped with Comity, built into the crate so that it works with no files.

use crate::error::LoadError;
use crate::pack::LawPacks;

macro_rules! packs {
    ($($path:literal),+ $(,)?) => {
        /// `(path under lawpacks/, text)` of every shipped pack file.
        pub const SHIPPED: &[(&str, &str)] = &[
            $(($path, include_str!(concat!("../../../lawpacks/", $path)))),+
        ];
    };
}

packs! {
    "taxonomy.toml",
    "treaties/budapest.toml",
    "treaties/budapest_protocol2.toml",
    "treaties/un_cybercrime.toml",
    "treaties/arab_it_2010.toml",
    "treaties/ets24.toml",
    "treaties/ets30.toml",
    "treaties/eu_eaw.toml",
    "treaties/eu_e_evidence.toml",
    "treaties/dz_ma_judicial.toml",
    "treaties/fr_dz_mla_2016.toml",
    "jurisdictions/dz.toml",
    "jurisdictions/ma.toml",
    "jurisdictions/tn.toml",
    "jurisdictions/fr.toml",
    "jurisdictions/es.toml",
    "jurisdictions/de.toml",
    "jurisdictions/gb.toml",
    "jurisdictions/us.toml",
}

impl LawPacks {
    /// The shipped packs.
    pub fn shipped() -> Result<LawPacks, LoadError> {
        LawPacks::load(SHIPPED.iter().copied())
    }
}
