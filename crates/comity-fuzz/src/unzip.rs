//! An independent reading of a zip's central directory, as a standard extractor sees the archive:
//! every entry in order, duplicates included, stored entries only. The package targets compare
//! what a verified package holds with it, so the verifier cannot see other bytes than a court's
//! extractor would.

/// Every entry (name, content) of a zip of stored entries, or `None` when the archive cannot be
/// read this way (compressed, encrypted or damaged).
pub fn entries(zip: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let eocd = (0..zip.len().saturating_sub(21))
        .rev()
        .take(65_557)
        .find(|&i| zip[i..].starts_with(b"PK\x05\x06"))?;
    let count = usize::from(u16_at(zip, eocd + 10)?);
    let mut at = usize::try_from(u32_at(zip, eocd + 16)?).ok()?;
    let mut out = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        if !zip.get(at..)?.starts_with(b"PK\x01\x02") {
            return None;
        }
        let flags = u16_at(zip, at + 8)?;
        let method = u16_at(zip, at + 10)?;
        let mut compressed = u64::from(u32_at(zip, at + 20)?);
        let mut size = u64::from(u32_at(zip, at + 24)?);
        let name_len = usize::from(u16_at(zip, at + 28)?);
        let extra_len = usize::from(u16_at(zip, at + 30)?);
        let comment_len = usize::from(u16_at(zip, at + 32)?);
        let mut offset = u64::from(u32_at(zip, at + 42)?);
        let name = zip.get(at + 46..at + 46 + name_len)?;
        let extra = zip.get(at + 46 + name_len..at + 46 + name_len + extra_len)?;
        zip64(extra, &mut size, &mut compressed, &mut offset)?;
        if method != 0 || flags & 1 != 0 || compressed != size {
            return None;
        }
        let local = usize::try_from(offset).ok()?;
        if !zip.get(local..)?.starts_with(b"PK\x03\x04") {
            return None;
        }
        let data_at = local
            + 30
            + usize::from(u16_at(zip, local + 26)?)
            + usize::from(u16_at(zip, local + 28)?);
        let data = zip.get(data_at..data_at.checked_add(usize::try_from(size).ok()?)?)?;
        out.push((String::from_utf8_lossy(name).into_owned(), data.to_vec()));
        at += 46 + name_len + extra_len + comment_len;
    }
    Some(out)
}

/// Replaces the 32-bit fields the zip64 extra field (id 1) stands in for.
fn zip64(mut extra: &[u8], size: &mut u64, compressed: &mut u64, offset: &mut u64) -> Option<()> {
    while extra.len() >= 4 {
        let id = u16_at(extra, 0)?;
        let len = usize::from(u16_at(extra, 2)?);
        let body = extra.get(4..4 + len)?;
        if id == 1 {
            let mut fields = body
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()));
            for v in [&mut *size, &mut *compressed, &mut *offset] {
                if *v == u64::from(u32::MAX) {
                    *v = fields.next()?;
                }
            }
        }
        extra = &extra[4 + len..];
    }
    Some(())
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
