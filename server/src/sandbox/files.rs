//! Small real files for the sandbox's inbound media, made in code: a PNG and
//! a JPEG image, a WebP sticker, Ogg/Opus and MP3 audio, an MP4/3GPP
//! container, a PDF. A few hundred bytes each, valid enough for a browser
//! or a media library to recognise (and, for images, audio and the PDF, to
//! show or play), so the product's whole media path is exercised with
//! genuine bytes. Most carry a random detail so two files are never equal.

/// A stored sandbox file as an answer: the bytes with the product's inert
/// headers (the MIME essence, `nosniff`, `Content-Security-Policy: sandbox`,
/// a download unless it is a plain image, audio or video). The sandbox shares
/// the Portal's origin and takes any type on its Graph upload, so its media
/// and CDN routes must never answer with a page that runs.
pub fn serve(mime: &str, content: Vec<u8>) -> axum::response::Response {
    let mut res = axum::response::IntoResponse::into_response(content);
    app::web::media::inert_headers(res.headers_mut(), mime, None);
    res
}

/// A file of `mime` (parameters ignored); unknown types get a text file.
pub fn sample(mime: &str) -> Vec<u8> {
    let base = mime
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match base.as_str() {
        "image/png" => png(8, 8, rand::random()),
        "image/jpeg" => jpeg(),
        "image/webp" => webp(),
        "audio/ogg" | "audio/opus" => ogg_opus(),
        "audio/mpeg" | "audio/mp3" => mp3(),
        "video/mp4" | "audio/mp4" => mp4(b"isom"),
        "video/3gpp" => mp4(b"3gp4"),
        "application/pdf" => pdf(),
        _ => format!(
            "Sandbox file {}\nThis stands in for a file an end user sent.\n",
            app::crypto::random_hex(4)
        )
        .into_bytes(),
    }
}

// ---- checksums ----------------------------------------------------------------

/// CRC-32 (IEEE, reflected), as PNG chunks carry it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, no final xor).
fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

// ---- images -------------------------------------------------------------------

/// A `w`×`h` RGB PNG: a gradient tinted by `tint`, stored (uncompressed) deflate.
pub fn png(w: u32, h: u32, tint: [u8; 3]) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            raw.push(tint[0].wrapping_add((x * 255 / w.max(1)) as u8 / 2));
            raw.push(tint[1].wrapping_add((y * 255 / h.max(1)) as u8 / 2));
            raw.push(tint[2]);
        }
    }
    // zlib: header, one final stored block, Adler-32.
    let mut z = vec![0x78, 0x01, 0x01];
    let len = raw.len() as u16;
    z.extend_from_slice(&len.to_le_bytes());
    z.extend_from_slice(&(!len).to_le_bytes());
    z.extend_from_slice(&raw);
    z.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut chunk = |kind: &[u8; 4], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        out.extend_from_slice(&c);
        out.extend_from_slice(&crc32(&c).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &z);
    chunk(b"IEND", &[]);
    out
}

/// A baseline 8×8 grey JPEG: one block whose DC and AC are both "nothing",
/// with one-symbol Huffman tables; a comment segment makes it unique.
pub fn jpeg() -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    let comment = format!("Switchboard sandbox {}", app::crypto::random_hex(4));
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(comment.as_bytes());
    // Quantisation table 0: all ones.
    out.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    out.extend_from_slice(&[1u8; 64]);
    // Frame: 8-bit, 8×8, one component (id 1, 1×1 sampling, table 0).
    out.extend_from_slice(&[
        0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00,
    ]);
    // Huffman tables: DC 0 and AC 0, each one code of length 1 for symbol 0.
    for class in [0x00u8, 0x10] {
        out.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class, 0x01]);
        out.extend_from_slice(&[0u8; 15]);
        out.push(0x00);
    }
    // Scan: DC category 0 ("0"), AC end of block ("0"), padded with ones.
    out.extend_from_slice(&[
        0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x3F,
    ]);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// A 1×1 lossless WebP.
pub fn webp() -> Vec<u8> {
    let mut out = b"RIFF".to_vec();
    let vp8l: [u8; 13] = [
        0x2F, 0x00, 0x00, 0x00, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xFE, 0x07,
    ];
    let body_len = 4 + 8 + vp8l.len() + 1; // WEBP + chunk header + data + pad
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(b"WEBPVP8L");
    out.extend_from_slice(&(vp8l.len() as u32).to_le_bytes());
    out.extend_from_slice(&vp8l);
    out.push(0);
    out
}

// ---- audio --------------------------------------------------------------------

fn ogg_page(serial: u32, seq: u32, flags: u8, granule: u64, packets: &[&[u8]]) -> Vec<u8> {
    let mut p = b"OggS".to_vec();
    p.push(0);
    p.push(flags);
    p.extend_from_slice(&granule.to_le_bytes());
    p.extend_from_slice(&serial.to_le_bytes());
    p.extend_from_slice(&seq.to_le_bytes());
    p.extend_from_slice(&[0, 0, 0, 0]);
    let mut lacing = Vec::new();
    for pk in packets {
        let mut n = pk.len();
        while n >= 255 {
            lacing.push(255);
            n -= 255;
        }
        lacing.push(n as u8);
    }
    p.push(lacing.len() as u8);
    p.extend_from_slice(&lacing);
    for pk in packets {
        p.extend_from_slice(pk);
    }
    let crc = ogg_crc(&p);
    p[22..26].copy_from_slice(&crc.to_le_bytes());
    p
}

/// Ogg/Opus, mono, 100 ms of silence (five 20 ms CELT frames).
pub fn ogg_opus() -> Vec<u8> {
    let serial: u32 = rand::random();
    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(1); // channels
    head.extend_from_slice(&312u16.to_le_bytes()); // pre-skip
    head.extend_from_slice(&48_000u32.to_le_bytes());
    head.extend_from_slice(&0u16.to_le_bytes()); // gain
    head.push(0); // mapping family
    let vendor = b"switchboard-sandbox";
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&0u32.to_le_bytes());
    let silence: &[u8] = &[0xF8, 0xFF, 0xFE];
    let mut out = ogg_page(serial, 0, 0x02, 0, &[&head]);
    out.extend(ogg_page(serial, 1, 0x00, 0, &[&tags]));
    out.extend(ogg_page(serial, 2, 0x04, 312 + 5 * 960, &[silence; 5]));
    out
}

/// MPEG-1 Layer III, 128 kbit/s, 44.1 kHz mono: two silent frames.
pub fn mp3() -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..2 {
        let mut frame = vec![0u8; 417];
        frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
        out.extend(frame);
    }
    out
}

// ---- video and documents --------------------------------------------------------

fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

/// An ISO base media file: `ftyp` with `brand` and a `moov` holding the
/// movie header (no tracks: a container that parses, with nothing to play).
pub fn mp4(brand: &[u8; 4]) -> Vec<u8> {
    let mut ftyp = brand.to_vec();
    ftyp.extend_from_slice(&0x200u32.to_be_bytes());
    ftyp.extend_from_slice(brand);
    ftyp.extend_from_slice(b"mp41");
    let mut mvhd = vec![0u8; 4]; // version 0, flags
    let created: u32 = rand::random::<u32>() >> 1;
    mvhd.extend_from_slice(&created.to_be_bytes());
    mvhd.extend_from_slice(&created.to_be_bytes());
    mvhd.extend_from_slice(&1000u32.to_be_bytes()); // timescale
    mvhd.extend_from_slice(&0u32.to_be_bytes()); // duration
    mvhd.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
    mvhd.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
    mvhd.extend_from_slice(&[0u8; 10]);
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        mvhd.extend_from_slice(&v.to_be_bytes());
    }
    mvhd.extend_from_slice(&[0u8; 24]);
    mvhd.extend_from_slice(&1u32.to_be_bytes()); // next track id
    let mut out = mp4_box(b"ftyp", &ftyp);
    out.extend(mp4_box(b"moov", &mp4_box(b"mvhd", &mvhd)));
    out
}

/// A one-page PDF saying "Sandbox document" with a random reference.
pub fn pdf() -> Vec<u8> {
    let text = format!("Sandbox document {}", app::crypto::random_hex(3));
    let content = format!("BT /F1 14 Tf 20 45 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 240 100] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{o}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for off in offsets {
        out.push_str(&format!("{off:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn files_start_like_their_type() {
        assert!(sample("image/png").starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(sample("image/jpeg").starts_with(&[0xFF, 0xD8]));
        assert!(sample("image/jpeg").ends_with(&[0xFF, 0xD9]));
        let w = sample("image/webp");
        assert!(w.starts_with(b"RIFF") && &w[8..12] == b"WEBP");
        assert_eq!(
            u32::from_le_bytes(w[4..8].try_into().unwrap()) as usize,
            w.len() - 8
        );
        let o = sample("audio/ogg; codecs=opus");
        assert!(o.starts_with(b"OggS") && o.windows(8).any(|x| x == b"OpusHead"));
        assert!(sample("audio/mpeg").starts_with(&[0xFF, 0xFB]));
        assert_eq!(&sample("video/mp4")[4..8], b"ftyp");
        let p = sample("application/pdf");
        assert!(p.starts_with(b"%PDF-1.4") && p.ends_with(b"%%EOF\n"));
        // Two samples of one type differ (most types).
        assert_ne!(sample("image/png"), sample("image/png"));
        for m in [
            "image/png",
            "image/jpeg",
            "image/webp",
            "audio/ogg",
            "video/mp4",
        ] {
            assert!(sample(m).len() < 2048, "{m}");
        }
    }

    #[test]
    fn pdf_xref_points_at_objects() {
        let p = String::from_utf8(pdf()).unwrap();
        let start: usize = p
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(p[start..].starts_with("xref"));
        let first = p[start..].lines().nth(3).unwrap();
        let off: usize = first[..10].parse().unwrap();
        assert!(p[off..].starts_with("1 0 obj"));
    }

    #[test]
    fn ogg_pages_carry_valid_crcs() {
        let o = ogg_opus();
        let mut i = 0;
        let mut pages = 0;
        while i < o.len() {
            let nseg = o[i + 26] as usize;
            let body: usize = o[i + 27..i + 27 + nseg].iter().map(|&b| b as usize).sum();
            let end = i + 27 + nseg + body;
            let mut page = o[i..end].to_vec();
            let want = u32::from_le_bytes(page[22..26].try_into().unwrap());
            page[22..26].copy_from_slice(&[0; 4]);
            assert_eq!(ogg_crc(&page), want);
            i = end;
            pages += 1;
        }
        assert_eq!(pages, 3);
    }
}
