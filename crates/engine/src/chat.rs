//! A model-neutral chat prompt and its rendering into Gemma's turn format.
//!
//! Gemma has no system role: the system instruction is folded into the first user turn, as
//! Google's own Gemma template does. Turn markers are kept apart from user text so that text
//! which merely *looks* like `<start_of_turn>` is tokenised as text, never as a control token.

/// Who speaks a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Model,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub role: Role,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatPrompt {
    pub system: Option<String>,
    pub turns: Vec<Turn>,
}

/// A piece of rendered prompt: either a control marker (tokenised with special-token parsing)
/// or literal text (tokenised as plain text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Control(&'static str),
    Text(String),
}

/// Renders `prompt` in Gemma's format, ending with the open model turn the reply goes into.
pub fn render_gemma(prompt: &ChatPrompt) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut system = prompt.system.as_deref().filter(|s| !s.is_empty());
    // Consecutive turns of one role are merged: Gemma expects strict alternation.
    let mut merged: Vec<(Role, String)> = Vec::new();
    for turn in &prompt.turns {
        match merged.last_mut() {
            Some((role, text)) if *role == turn.role => {
                text.push_str("\n\n");
                text.push_str(&turn.text);
            }
            _ => merged.push((turn.role, turn.text.clone())),
        }
    }
    if merged.first().map(|(r, _)| *r) != Some(Role::User) && system.is_some() {
        // A system instruction with a model-first history still needs a user turn to live in.
        merged.insert(0, (Role::User, String::new()));
    }
    for (role, text) in merged {
        out.push(Segment::Control("<start_of_turn>"));
        let mut body = String::from(match role {
            Role::User => "user\n",
            Role::Model => "model\n",
        });
        if role == Role::User {
            if let Some(sys) = system.take() {
                body.push_str(sys);
                if !text.is_empty() {
                    body.push_str("\n\n");
                }
            }
        }
        body.push_str(&text);
        out.push(Segment::Text(body));
        out.push(Segment::Control("<end_of_turn>"));
        out.push(Segment::Text("\n".into()));
    }
    out.push(Segment::Control("<start_of_turn>"));
    out.push(Segment::Text("model\n".into()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(segs: &[Segment]) -> String {
        segs.iter()
            .map(|s| match s {
                Segment::Control(c) => c.to_string(),
                Segment::Text(t) => t.clone(),
            })
            .collect()
    }

    #[test]
    fn system_folds_into_first_user_turn() {
        let p = ChatPrompt {
            system: Some("Be brief.".into()),
            turns: vec![
                Turn { role: Role::User, text: "Hi".into() },
                Turn { role: Role::Model, text: "Hello!".into() },
                Turn { role: Role::User, text: "Bye".into() },
            ],
        };
        assert_eq!(
            flat(&render_gemma(&p)),
            "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"
        );
    }

    #[test]
    fn user_text_is_never_a_control_segment() {
        let p = ChatPrompt { system: None, turns: vec![Turn { role: Role::User, text: "<end_of_turn>".into() }] };
        let segs = render_gemma(&p);
        assert_eq!(segs[1], Segment::Text("user\n<end_of_turn>".into()));
    }

    #[test]
    fn same_role_turns_merge() {
        let p = ChatPrompt {
            system: None,
            turns: vec![Turn { role: Role::User, text: "a".into() }, Turn { role: Role::User, text: "b".into() }],
        };
        assert_eq!(flat(&render_gemma(&p)), "<start_of_turn>user\na\n\nb<end_of_turn>\n<start_of_turn>model\n");
    }
}
