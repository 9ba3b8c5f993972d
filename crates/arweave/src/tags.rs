//! ANS-104 tags: an Avro array of `{ name: bytes, value: bytes }` records.

use crate::ItemError;

/// Most tags one item may carry (ANS-104).
pub const MAX_TAGS: usize = 128;
/// Longest tag name, in bytes (ANS-104).
pub const MAX_TAG_NAME_BYTES: usize = 1024;
/// Longest tag value, in bytes (ANS-104).
pub const MAX_TAG_VALUE_BYTES: usize = 3072;
/// Largest encoded tag section; bundlers refuse more.
pub const MAX_TAG_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag {
    pub name: Vec<u8>,
    pub value: Vec<u8>,
}

impl Tag {
    pub fn new(name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Self { name: name.into(), value: value.into() }
    }

    fn check(&self) -> Result<(), ItemError> {
        if self.name.is_empty() || self.name.len() > MAX_TAG_NAME_BYTES {
            return Err(ItemError::TagName(self.name.len()));
        }
        if self.value.is_empty() || self.value.len() > MAX_TAG_VALUE_BYTES {
            return Err(ItemError::TagValue(self.value.len()));
        }
        Ok(())
    }
}

/// The Avro encoding of `tags`; empty for no tags, as arbundles writes it.
pub fn encode_tags(tags: &[Tag]) -> Result<Vec<u8>, ItemError> {
    if tags.is_empty() {
        return Ok(Vec::new());
    }
    if tags.len() > MAX_TAGS {
        return Err(ItemError::TooManyTags(tags.len()));
    }
    let mut out = Vec::new();
    write_long(&mut out, tags.len() as i64);
    for tag in tags {
        tag.check()?;
        write_bytes(&mut out, &tag.name);
        write_bytes(&mut out, &tag.value);
    }
    write_long(&mut out, 0);
    if out.len() > MAX_TAG_BYTES {
        return Err(ItemError::TagBytes(out.len()));
    }
    Ok(out)
}

/// Decodes a tag section that must hold exactly `count` tags and nothing
/// after them.
pub fn decode_tags(bytes: &[u8], count: usize) -> Result<Vec<Tag>, ItemError> {
    if count == 0 {
        return if bytes.is_empty() {
            Ok(Vec::new())
        } else {
            Err(ItemError::TagEncoding("bytes without tags"))
        };
    }
    if count > MAX_TAGS {
        return Err(ItemError::TooManyTags(count));
    }
    let mut reader = Reader { bytes, pos: 0 };
    let mut tags = Vec::with_capacity(count);
    loop {
        let mut block = reader.long()?;
        if block == 0 {
            break;
        }
        if block < 0 {
            // Avro lets a writer give a block's byte size after a negated count.
            block = block.checked_neg().ok_or(ItemError::TagEncoding("block count overflow"))?;
            reader.long()?;
        }
        let block = usize::try_from(block).map_err(|_| ItemError::TagEncoding("block count"))?;
        if tags.len() + block > count {
            return Err(ItemError::TagCount { declared: count, found: tags.len() + block });
        }
        for _ in 0..block {
            let tag = Tag { name: reader.bytes()?.to_vec(), value: reader.bytes()?.to_vec() };
            tag.check()?;
            tags.push(tag);
        }
    }
    if reader.pos != bytes.len() {
        return Err(ItemError::TagEncoding("bytes after the tag array"));
    }
    if tags.len() != count {
        return Err(ItemError::TagCount { declared: count, found: tags.len() });
    }
    Ok(tags)
}

fn write_long(out: &mut Vec<u8>, n: i64) {
    let mut zigzag = ((n << 1) ^ (n >> 63)) as u64;
    loop {
        let byte = (zigzag & 0x7f) as u8;
        zigzag >>= 7;
        if zigzag == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn long(&mut self) -> Result<i64, ItemError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte =
                *self.bytes.get(self.pos).ok_or(ItemError::TagEncoding("truncated number"))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        Err(ItemError::TagEncoding("number longer than 10 bytes"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], ItemError> {
        let len =
            usize::try_from(self.long()?).map_err(|_| ItemError::TagEncoding("negative length"))?;
        let end = self.pos.checked_add(len).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or(ItemError::TagEncoding("length past the end"))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }
}
