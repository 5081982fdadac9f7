//! Which inputs go into which forward pass. Inputs are sorted by length so each pass pads to
//! a length its members nearly share; a pass holds as many inputs as fit a budget of padded
//! tokens (activations, and attention's length², stay bounded), so a request of 100 short
//! texts is one pass and 100 texts of the maximum length a handful.

/// Indices into the input list, one `Vec` per forward pass, longest inputs first.
pub fn passes(lengths: &[usize], budget_tokens: usize, max_sequences: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    // Stable, so equal lengths keep request order (deterministic batches for equal input).
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        // Sorted descending, so the pass's padded length is that of its first member.
        let padded = current.first().map_or(lengths[i], |&f| lengths[f]).max(1);
        if !current.is_empty() && ((current.len() + 1) * padded > budget_tokens || current.len() == max_sequences) {
            out.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hundred_short_texts_are_one_pass() {
        let p = passes(&[12; 100], 8192, 256);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].len(), 100);
    }

    #[test]
    fn long_texts_split_by_the_token_budget_and_every_input_appears_once() {
        let lengths: Vec<usize> = (0..100).map(|i| if i % 2 == 0 { 256 } else { 10 }).collect();
        let p = passes(&lengths, 8192, 256);
        assert!(p.len() <= 5, "{} passes", p.len());
        for pass in &p {
            let padded = pass.iter().map(|&i| lengths[i]).max().unwrap();
            assert!(pass.len() * padded <= 8192 || pass.len() == 1);
        }
        let mut all: Vec<usize> = p.into_iter().flatten().collect();
        all.sort();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn the_sequence_cap_holds_and_empty_input_has_no_pass() {
        assert_eq!(passes(&[3; 10], 1 << 20, 4).iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 2]);
        assert!(passes(&[], 8192, 4).is_empty());
    }
}
