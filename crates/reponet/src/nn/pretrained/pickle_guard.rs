//! Which Python callables a PyTorch pickle names, checked before any of it is read.
//!
//! A `.pth` file is a pickle: a program for Python's unpickler, which may call any function
//! it names (`os.system` as easily as `torch._utils._rebuild_tensor_v2`). reponet's reader
//! (burn-store's `pytorch-reader`) never calls anything, but a file that asks to is not a
//! state dict, and is refused whole. This walks the opcodes without building any object
//! and accepts only the names PyTorch's own `torch.load(weights_only=True)` accepts for a
//! state dict: tensor and storage rebuilding, dtypes, `OrderedDict`, sets.

use std::collections::HashMap;

/// Why a pickle was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It names a callable outside tensor rebuilding: `module.name`.
    Callable(String),
    /// It uses an opcode a state dict never needs (the extension registry, out-of-band
    /// buffers), or one this check does not know.
    Opcode(u8),
    /// It names a callable in a way this check cannot follow (a `STACK_GLOBAL` whose module
    /// and name were not pushed as strings just before it).
    Unfollowable,
    /// It ends in the middle of an opcode.
    Truncated,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Callable(name) => write!(
                f,
                "it asks to call {name}, which is not part of rebuilding tensors"
            ),
            Self::Opcode(op) => write!(
                f,
                "it uses pickle opcode 0x{op:02x}, which a state dict never needs"
            ),
            Self::Unfollowable => f.write_str("it names a callable through computed strings"),
            Self::Truncated => f.write_str("the pickle ends in the middle of an instruction"),
        }
    }
}

/// `module.name` pairs a state dict may name (PyTorch's `weights_only` allow-list, less the
/// numpy and quantisation entries reponet does not read).
fn allowed(module: &str, name: &str) -> bool {
    const DTYPES: &[&str] = &[
        "float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
        "bool", "double", "float", "half", "long", "int", "short",
    ];
    match module {
        "collections" => name == "OrderedDict",
        "builtins" | "__builtin__" => matches!(name, "set" | "frozenset"),
        "torch._utils" => matches!(
            name,
            "_rebuild_tensor"
                | "_rebuild_tensor_v2"
                | "_rebuild_tensor_v3"
                | "_rebuild_parameter"
                | "_rebuild_parameter_with_state"
        ),
        "torch._tensor" => name == "_rebuild_from_type_v2",
        "torch.nn.parameter" => name == "Parameter",
        "torch" => {
            name.ends_with("Storage")
                || DTYPES.contains(&name)
                || matches!(name, "Tensor" | "Size" | "device")
        }
        _ => false,
    }
}

/// Check one pickle (from its first byte to its `STOP`); returns the bytes it took.
pub fn check(bytes: &[u8]) -> Result<usize, Refusal> {
    let mut cursor = Cursor { bytes, at: 0 };
    let mut take = |n: usize| cursor.take(n);
    // The last two values pushed, when they are known strings (a STACK_GLOBAL's operands),
    // and strings memoised by index (a repeated module name is fetched from the memo).
    let mut recent: [Option<String>; 2] = [None, None];
    let mut memo: HashMap<u64, String> = HashMap::new();
    let mut next_memo = 0u64;
    fn le(b: &[u8]) -> u64 {
        b.iter().rev().fold(0, |acc, &x| (acc << 8) | x as u64)
    }
    fn push(recent: &mut [Option<String>; 2], value: Option<String>) {
        recent[0] = recent[1].take();
        recent[1] = value;
    }
    loop {
        let op = take(1)?[0];
        match op {
            b'.' => break,
            // Protocol and framing: no value.
            0x80 => {
                take(1)?;
            }
            0x95 => {
                take(8)?;
            }
            // Memoising the top of the stack: no value pushed.
            0x94 => {
                if let Some(s) = &recent[1] {
                    memo.insert(next_memo, s.clone());
                }
                next_memo += 1;
            }
            b'q' | b'r' => {
                let index = le(take(if op == b'q' { 1 } else { 4 })?);
                match &recent[1] {
                    Some(s) => memo.insert(index, s.clone()),
                    None => memo.remove(&index),
                };
            }
            b'p' => {
                let index = line(&mut take)?;
                let index = index.trim().parse().map_err(|_| Refusal::Unfollowable)?;
                match &recent[1] {
                    Some(s) => memo.insert(index, s.clone()),
                    None => memo.remove(&index),
                };
            }
            b'h' | b'j' => {
                let index = le(take(if op == b'h' { 1 } else { 4 })?);
                push(&mut recent, memo.get(&index).cloned());
            }
            b'g' => {
                let index: Option<u64> = line(&mut take)?.trim().parse().ok();
                push(&mut recent, index.and_then(|i| memo.get(&i).cloned()));
            }
            // Strings, which may be a STACK_GLOBAL's module and name.
            0x8c | b'X' | 0x8d => {
                let width = match op {
                    0x8c => 1,
                    b'X' => 4,
                    _ => 8,
                };
                let n = le(take(width)?) as usize;
                let text = String::from_utf8_lossy(take(n)?).into_owned();
                push(&mut recent, Some(text));
            }
            b'V' | b'S' => {
                let text = line(&mut take)?;
                push(
                    &mut recent,
                    Some(text.trim_matches(['\'', '"']).to_string()),
                );
            }
            // Names of callables.
            b'c' | b'i' => {
                let module = line(&mut take)?;
                let name = line(&mut take)?;
                if !allowed(&module, &name) {
                    return Err(Refusal::Callable(format!("{module}.{name}")));
                }
                push(&mut recent, None);
            }
            0x93 => match (&recent[0], &recent[1]) {
                (Some(module), Some(name)) if allowed(module, name) => push(&mut recent, None),
                (Some(module), Some(name)) => {
                    return Err(Refusal::Callable(format!("{module}.{name}")))
                }
                _ => return Err(Refusal::Unfollowable),
            },
            // Other values with fixed-size or length-prefixed arguments.
            b'K' | b'U' | b'C' | 0x8a => {
                let n = take(1)?[0] as usize;
                if op != b'K' {
                    take(n)?;
                }
                push(&mut recent, None);
            }
            b'M' => {
                take(2)?;
                push(&mut recent, None);
            }
            b'J' => {
                take(4)?;
                push(&mut recent, None);
            }
            b'G' => {
                take(8)?;
                push(&mut recent, None);
            }
            b'T' | b'B' | 0x8b => {
                let n = le(take(4)?) as usize;
                take(n)?;
                push(&mut recent, None);
            }
            0x8e | 0x96 => {
                let n = le(take(8)?) as usize;
                take(n)?;
                push(&mut recent, None);
            }
            b'I' | b'L' | b'F' | b'P' => {
                line(&mut take)?;
                push(&mut recent, None);
            }
            // Stack and container operations, calls of what was named above: no argument.
            b'(' | b'0' | b'1' | b'2' | b'N' | b')' | b']' | b'}' | b'a' | b'e' | b's' | b'u'
            | b't' | b'l' | b'd' | b'R' | b'b' | b'o' | 0x85 | 0x86 | 0x87 | 0x88 | 0x89 | 0x81
            | 0x92 | 0x8f | 0x90 | 0x91 | b'Q' => push(&mut recent, None),
            // The extension registry (EXT1/2/4) and out-of-band buffers, and unknown bytes.
            other => return Err(Refusal::Opcode(other)),
        }
    }
    Ok(cursor.at)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Refusal> {
        let slice = self
            .bytes
            .get(self.at..self.at + n)
            .ok_or(Refusal::Truncated)?;
        self.at += n;
        Ok(slice)
    }
}

/// A newline-terminated argument, without its newline.
fn line<'a>(take: &mut impl FnMut(usize) -> Result<&'a [u8], Refusal>) -> Result<String, Refusal> {
    let mut text = Vec::new();
    loop {
        match take(1)?[0] {
            b'\n' => return Ok(String::from_utf8_lossy(&text).into_owned()),
            b => text.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_global_outside_the_list_is_refused_by_name() {
        // protocol 2: GLOBAL posix system, a string, TUPLE1, REDUCE, STOP.
        let mut p = vec![0x80, 2];
        p.extend(b"cposix\nsystem\n");
        p.extend([0x8c, 2]);
        p.extend(b"id");
        p.extend([0x85, b'R', b'.']);
        assert_eq!(check(&p), Err(Refusal::Callable("posix.system".into())));
    }

    #[test]
    fn stack_global_through_the_memo_is_followed() {
        let mut p = vec![0x80, 4];
        for s in ["torch._utils", "_rebuild_tensor_v2"] {
            p.extend([0x8c, s.len() as u8]);
            p.extend(s.as_bytes());
            p.push(0x94);
        }
        p.push(0x93);
        // The same module again from memo 0, then a name that is not allowed.
        p.extend([b'h', 0, 0x8c, 4]);
        p.extend(b"eval");
        p.extend([0x93, b'.']);
        assert_eq!(
            check(&p),
            Err(Refusal::Callable("torch._utils.eval".into()))
        );
    }

    #[test]
    fn computed_names_and_the_extension_registry_are_refused() {
        // STACK_GLOBAL on values that are not strings pushed just before.
        assert_eq!(
            check(&[0x80, 4, b'N', b'N', 0x93, b'.']),
            Err(Refusal::Unfollowable)
        );
        assert_eq!(check(&[0x80, 2, 0x82, 1, b'.']), Err(Refusal::Opcode(0x82)));
        assert_eq!(check(&[0x80, 2, b'K']), Err(Refusal::Truncated));
    }
}
