//! The files step (LOAD_PHASES=files): uploads of a 1 MiB photo-like JPEG (bigger than the
//! thumbnail box, so each upload is sniffed, stripped, measured and thumbnailed), then fetches
//! of it and of its thumbnail, against the same server's `/healthz`. Settings: LOAD_FILES_SECONDS
//! (each measurement, 8), LOAD_FILES_UPLOADERS (uploads at once, 4), LOAD_FILES_CONNECTIONS
//! (connections fetching, 16).

use std::fmt::Write as _;
use std::io::Cursor;
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};

use super::{Conn, LOUD, Samples, Target, get, populate, saturate};

/// The image uploaded: its size in bytes is as near 1 MiB as a quality step allows.
const WIDTH: u32 = 1600;
const HEIGHT: u32 = 1200;

/// What one database's run measured.
pub struct FilesRun {
    bytes: usize,
    uploads: u64,
    upload_errors: u64,
    upload_secs: f64,
    upload_latency: Samples,
    fetch_rate: f64,
    thumbnail_rate: f64,
    thumbnail_bytes: usize,
    healthz_rate: f64,
}

#[derive(Clone, Copy)]
pub struct FilesConfig {
    length: Duration,
    uploaders: usize,
    connections: usize,
}

impl FilesConfig {
    pub fn from_env(full: bool) -> Self {
        let num = |name: &str, full_default: u64, tiny_default: u64| -> u64 {
            std::env::var(name).map_or(if full { full_default } else { tiny_default }, |v| {
                v.parse().expect(name)
            })
        };
        Self {
            length: Duration::from_secs(num("LOAD_FILES_SECONDS", 8, 1)),
            uploaders: num("LOAD_FILES_UPLOADERS", 4, 1) as usize,
            connections: num("LOAD_FILES_CONNECTIONS", 16, 2) as usize,
        }
    }
}

/// A photo-like picture: smooth gradients with grain, which JPEG neither squeezes to nothing
/// (flat colour) nor blows up (pure noise). Encoded at the highest quality that stays within
/// 1 MiB.
fn photo() -> Vec<u8> {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let picture = RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let grain = (seed % 48) as u32;
        Rgb([
            ((x * 255 / WIDTH + grain) % 256) as u8,
            ((y * 255 / HEIGHT + grain) % 256) as u8,
            (((x + y) * 128 / (WIDTH + HEIGHT) + grain) % 256) as u8,
        ])
    });
    let mut best = Vec::new();
    for quality in (40..=95).rev().step_by(5) {
        let mut out = Cursor::new(Vec::new());
        JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(&picture)
            .unwrap();
        best = out.into_inner();
        if best.len() <= 1 << 20 {
            break;
        }
    }
    best
}

fn upload_request(room: i32, cookie: &str, csrf: &str, file: &[u8]) -> Vec<u8> {
    let boundary = "----chatroom-load-boundary-4f0e2b";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut request = format!(
        "POST /api/rooms/{room}/attachments HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\
         X-CSRF-Token: {csrf}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request
}

pub fn files_step(config: FilesConfig, target: &Target) -> FilesRun {
    let url = target.url();
    let people = populate(&url, 1, 1);
    let person = &people[0];
    let server = target.serve();
    let file = photo();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let port = server.port;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Conn::open(port).await.is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let request = std::rc::Rc::new(upload_request(
            person.room,
            &person.cookie,
            &person.csrf,
            &file,
        ));
        // Uploads, `uploaders` at once, each on its own connection.
        let started = Instant::now();
        let end = started + config.length;
        let tasks: Vec<_> = (0..config.uploaders)
            .map(|_| {
                let request = request.clone();
                tokio::task::spawn_local(async move {
                    let mut conn = Conn::open(port).await.unwrap();
                    let (mut done, mut errors, mut latency) = (0, 0, Samples::default());
                    let mut last = None;
                    while Instant::now() < end {
                        let sent = Instant::now();
                        match conn.send(&request).await {
                            Ok((201, body)) => {
                                latency.add(sent.elapsed());
                                done += 1;
                                last = Some(body);
                            }
                            _ => errors += 1,
                        }
                    }
                    (done, errors, latency, last)
                })
            })
            .collect();
        let mut run = FilesRun {
            bytes: file.len(),
            uploads: 0,
            upload_errors: 0,
            upload_secs: 0.0,
            upload_latency: Samples::default(),
            fetch_rate: 0.0,
            thumbnail_rate: 0.0,
            thumbnail_bytes: 0,
            healthz_rate: 0.0,
        };
        let mut answer = None;
        for task in tasks {
            let (done, errors, latency, last) = task.await.unwrap();
            run.uploads += done;
            run.upload_errors += errors;
            run.upload_latency.0.extend(latency.0);
            answer = answer.or(last);
        }
        run.upload_secs = started.elapsed().as_secs_f64();
        let answer: serde_json::Value =
            serde_json::from_slice(&answer.expect("at least one upload succeeded")).unwrap();
        let attachment = &answer["message"]["attachment"];
        let url = attachment["url"].as_str().unwrap().to_owned();
        let thumbnail = attachment["thumbnail_url"].as_str().unwrap().to_owned();
        let mut conn = Conn::open(port).await.unwrap();
        let (status, fetched) = conn.send(&get(&url, &person.cookie)).await.unwrap();
        assert_eq!(
            (status, fetched.len()),
            (200, file.len()),
            "the file comes back whole"
        );
        let (status, small) = conn.send(&get(&thumbnail, &person.cookie)).await.unwrap();
        assert_eq!(status, 200);
        run.thumbnail_bytes = small.len();
        // Fetches, then the same connections' /healthz, one after the other.
        let connections = config.connections;
        run.fetch_rate =
            saturate(port, connections, config.length, get(&url, &person.cookie)).await;
        run.thumbnail_rate = saturate(
            port,
            connections,
            config.length,
            get(&thumbnail, &person.cookie),
        )
        .await;
        run.healthz_rate = saturate(port, connections, config.length, get("/healthz", "")).await;
        run
    })
}

pub fn files_table(config: FilesConfig, columns: &mut [(String, FilesRun)]) -> String {
    let mut md = String::from("| | ");
    md.push_str(
        &columns
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(" | "),
    );
    md.push_str(" |\n|---|");
    md.push_str(&"---|".repeat(columns.len()));
    md.push('\n');
    let mib = |bytes: f64| bytes / f64::from(1 << 20);
    let mut row = |label: &str, cell: &mut dyn FnMut(&mut FilesRun) -> String| {
        let _ = write!(md, "| {label} |");
        for (_, run) in columns.iter_mut() {
            let _ = write!(md, " {} |", cell(run));
        }
        md.push('\n');
    };
    row("the file", &mut |r| {
        format!("{WIDTH}×{HEIGHT} JPEG, {:.2} MiB", mib(r.bytes as f64))
    });
    row(
        &format!("uploads a second ({} at once)", config.uploaders),
        &mut |r| format!("{:.1}", r.uploads as f64 / r.upload_secs),
    );
    row("upload throughput", &mut |r| {
        format!(
            "{:.1} MiB/s",
            mib(r.uploads as f64 * r.bytes as f64) / r.upload_secs
        )
    });
    row("upload p50 / p99", &mut |r| {
        format!(
            "{:.0} / {:.0} ms",
            r.upload_latency.ms(0.5),
            r.upload_latency.ms(0.99)
        )
    });
    row("failed uploads", &mut |r| r.upload_errors.to_string());
    row(
        &format!(
            "fetches of the file a second ({} connections)",
            config.connections
        ),
        &mut |r| {
            format!(
                "{:.0} ({:.0} MiB/s)",
                r.fetch_rate,
                mib(r.fetch_rate * r.bytes as f64)
            )
        },
    );
    row("fetches of its thumbnail a second", &mut |r| {
        format!(
            "{:.0} ({} KiB each)",
            r.thumbnail_rate,
            r.thumbnail_bytes / 1024
        )
    });
    row("`/healthz` a second, same connections", &mut |r| {
        format!("{:.0}", r.healthz_rate)
    });
    row("file fetch, share of `/healthz`", &mut |r| {
        format!("{:.0}%", 100.0 * r.fetch_rate / r.healthz_rate)
    });
    if LOUD.load(std::sync::atomic::Ordering::Relaxed) {
        let _ = writeln!(
            md,
            "\nOne server pinned to one core (the generator on the other), {} s per \
             measurement; each upload is sniffed, stripped of its metadata, measured and \
             thumbnailed (the image is bigger than 1200×800) before it is stored.",
            config.length.as_secs()
        );
    }
    md
}
