//! Files in messages (issue 30): `POST /api/rooms/{id}/attachments`, the file served at the
//! entry's `url` to whoever may read the room. The same bodies run on SQLite and on
//! PostgreSQL (tests/api_postgres.rs).

use std::io::Cursor;
use std::time::Duration;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::helpers::{Person, TestApp, error_code, location, spawn_app, spawn_app_tweaked};

/// A PNG of one pixel. (Written by the image crate: a hand-typed one had a cut IDAT and a
/// wrong CRC, which a real decoder rightly refuses as damaged.)
fn pixel_png() -> Vec<u8> {
    picture(ImageFormat::Png, 1, 1)
}

#[actix_web::test]
async fn a_member_uploads_a_file_and_the_room_sees_it_with_its_message() {
    let Some(app) = spawn_app().await else { return };
    let mut ann = app.user("ann").await;
    let mut bob = app.user("bob").await;
    let room = ann.create_room("Kitchen").await;
    bob.enter_and_poll(room).await;

    let res = ann
        .upload(room, "notes.txt", b"milk, eggs", &[("text", "the list")])
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let message = &body["message"];
    assert_eq!(message["text"], "the list");
    let file = &message["attachment"];
    assert_eq!(file["name"], "notes.txt");
    assert_eq!(file["size"], 10);
    let url = file["url"].as_str().unwrap();

    let seen = bob.messages_after(room, 0).await;
    let last = seen.last().unwrap();
    assert_eq!(last["attachment"]["url"], url);
    let fetched = bob.get(url).await;
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), b"milk, eggs");
}

#[actix_web::test]
async fn an_image_is_shown_inline_with_its_size() {
    let Some(app) = spawn_app().await else { return };
    let mut ann = app.user("ann").await;
    let room = ann.create_room("Kitchen").await;
    let res = ann.upload(room, "dot.png", &pixel_png(), &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
    let body: Value = res.json().await.unwrap();
    let file = &body["message"]["attachment"];
    assert_eq!(file["content_type"], "image/png");
    let fetched = ann.get(file["url"].as_str().unwrap()).await;
    assert_eq!(
        fetched.headers()["content-security-policy"],
        "default-src 'none'; sandbox"
    );
}

/// How many files the database holds.
fn stored_files(app: &TestApp) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT COUNT(*) AS n FROM attachments")
        .get_result::<Count>(&mut app.db())
        .unwrap()
        .n
}

/// An image of `width` x `height` in this format, drawn so that it is not one flat colour.
fn picture(format: ImageFormat, width: u32, height: u32) -> Vec<u8> {
    let pixels = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 13 * 19) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(pixels)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

/// Uploads and expects 201: the message's `attachment`.
async fn uploaded(person: &mut Person, room: i32, name: &str, bytes: &[u8]) -> Value {
    let res = person.upload(room, name, bytes, &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED, "uploading {name}");
    let body: Value = res.json().await.unwrap();
    body["message"]["attachment"].clone()
}

fn url_of(file: &Value) -> String {
    file["url"].as_str().expect("a url").to_owned()
}

fn header<'a>(res: &'a Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("a {name} header"))
        .to_str()
        .unwrap()
}

/// Every file, whatever it is, is served so that it can never act as one of our pages.
fn assert_served_safely(res: &Response, what: &str) {
    assert_eq!(header(res, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(
        header(res, "content-security-policy"),
        "default-src 'none'; sandbox",
        "{what}"
    );
    assert_eq!(header(res, "cache-control"), "private", "{what}");
}

/// One part of a form: its field, its file name if it is a file, its bytes.
type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A multipart/form-data body of these parts.
fn form(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "----attachments-test-boundary-Qw8Zr";
    let mut body = Vec::new();
    for (field, file, bytes) in parts {
        let filename = file
            .map(|f| format!("; filename=\"{f}\""))
            .unwrap_or_default();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"{filename}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Ann, with her room "Kitchen" that she is inside.
async fn kitchen(app: &TestApp) -> (Person, i32) {
    let mut ann = app.user("ann").await;
    let room = ann.create_room("Kitchen").await;
    (ann, room)
}

#[actix_web::test]
async fn a_direct_conversations_file_is_not_found_for_a_third_person_like_an_unknown_one() {
    let Some(app) = spawn_app().await else { return };
    let mut ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let direct = ann.open_direct("bob").await;
    let file = uploaded(&mut ann, direct, "secret.txt", b"for bob only").await;
    let url = url_of(&file);

    let fetched = bob.get(&url).await;
    assert_eq!(
        fetched.status(),
        StatusCode::OK,
        "the other person reads it"
    );
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), b"for bob only");

    let theirs = carol.get(&url).await;
    let unknown = carol.get("/attachments/999999").await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let (theirs, unknown) = (theirs.text().await.unwrap(), unknown.text().await.unwrap());
    assert_eq!(theirs, unknown, "nothing tells a hidden file from none");
    assert!(!theirs.contains("for bob only"));
    let thumbnail = carol.get(&format!("{url}/thumbnail")).await;
    assert_eq!(thumbnail.status(), StatusCode::NOT_FOUND);

    // A public room's file: every account may read it.
    let room = ann.create_room("Kitchen").await;
    let public = uploaded(&mut ann, room, "menu.txt", b"soup").await;
    assert_eq!(carol.get(&url_of(&public)).await.status(), StatusCode::OK);

    let stranger = app.person();
    let res = stranger.get(&url_of(&public)).await;
    match res.status() {
        StatusCode::UNAUTHORIZED => {}
        status if status.is_redirection() => {
            assert!(location(&res).starts_with("/login"), "{}", location(&res));
        }
        status => panic!("logged out: {status}"),
    }
}

#[actix_web::test]
async fn an_upload_by_someone_not_inside_the_room_is_forbidden_and_stores_nothing() {
    let Some(app) = spawn_app().await else { return };
    let (_ann, room) = kitchen(&app).await;
    let mut bob = app.user("bob").await;
    let res = bob.upload(room, "notes.txt", b"let me in", &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "not_in_room");

    // Inside another room is not inside this one.
    let other = bob.create_room("Garden").await;
    let res = bob.upload(room, "notes.txt", b"let me in", &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(stored_files(&app), 0);

    let res = bob.upload(999_999, "notes.txt", b"anyone?", &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    uploaded(&mut bob, other, "notes.txt", b"here I may").await;
    assert_eq!(stored_files(&app), 1);
}

#[actix_web::test]
async fn pictures_are_served_inline_with_their_type_and_everything_else_as_a_download() {
    let Some(app) = spawn_app().await else { return };
    let (mut ann, room) = kitchen(&app).await;
    let svg: &[u8] = b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
        width=\"10\" height=\"10\"><script>alert(document.cookie)</script></svg>";
    let html: &[u8] = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>";
    let pdf: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
    let unknown: &[u8] = &[0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02];
    // Downloads first: they do not wait for the image processing.
    for (name, bytes) in [
        ("logo.svg", svg),
        ("page.html", html),
        ("paper.pdf", pdf),
        ("blob.bin", unknown),
    ] {
        let file = uploaded(&mut ann, room, name, bytes).await;
        assert!(
            file.get("width").is_none() && file.get("thumbnail_url").is_none(),
            "{name} is no picture shown: {file}"
        );
        let res = ann.get(&url_of(&file)).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_served_safely(&res, name);
        assert!(
            header(&res, "content-disposition").starts_with("attachment; filename=\""),
            "{name}: {}",
            header(&res, "content-disposition")
        );
        assert_eq!(
            header(&res, "content-type"),
            file["content_type"].as_str().unwrap(),
            "{name}: served as the JSON says"
        );
        assert_eq!(
            res.bytes().await.unwrap().as_ref(),
            bytes,
            "{name}: as sent"
        );
        let thumbnail = ann.get(&format!("{}/thumbnail", url_of(&file))).await;
        assert_eq!(thumbnail.status(), StatusCode::NOT_FOUND, "{name}");
    }
    let pictures = [
        ("a.png", ImageFormat::Png, "image/png"),
        ("a.jpg", ImageFormat::Jpeg, "image/jpeg"),
        ("a.gif", ImageFormat::Gif, "image/gif"),
        ("a.webp", ImageFormat::WebP, "image/webp"),
    ];
    for (name, format, content_type) in pictures {
        let file = uploaded(&mut ann, room, name, &picture(format, 40, 30)).await;
        assert_eq!(file["content_type"], content_type, "{name}");
        assert_eq!(
            (file["width"].as_i64(), file["height"].as_i64()),
            (Some(40), Some(30))
        );
        assert!(file["thumbnail_url"].is_string(), "{name}: {file}");
        let res = ann.get(&url_of(&file)).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_served_safely(&res, name);
        assert_eq!(header(&res, "content-type"), content_type, "{name}");
        assert!(
            header(&res, "content-disposition").starts_with("inline; filename=\""),
            "{name}: {}",
            header(&res, "content-disposition")
        );
    }
}

#[actix_web::test]
async fn what_a_file_is_comes_from_its_bytes_not_its_name() {
    let Some(app) = spawn_app().await else { return };
    let (mut ann, room) = kitchen(&app).await;
    let html: &[u8] = b"<html><body><script>alert(document.cookie)</script></body></html>";
    let file = uploaded(&mut ann, room, "x.png", html).await;
    assert_ne!(file["content_type"], "image/png", "{file}");
    assert!(file.get("thumbnail_url").is_none(), "{file}");
    let res = ann.get(&url_of(&file)).await;
    assert!(!header(&res, "content-type").starts_with("image/"));
    assert!(header(&res, "content-disposition").starts_with("attachment"));
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");

    // A PNG named as a text file is a picture all the same.
    let png = uploaded(&mut ann, room, "notes.txt", &pixel_png()).await;
    assert_eq!(png["content_type"], "image/png");
    assert_eq!(png["name"], "notes.txt", "the name is kept for display");

    // An SVG can carry script: it is a download, never a picture on the page.
    let svg: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>";
    let file = uploaded(&mut ann, room, "pretty.png", svg).await;
    let res = ann.get(&url_of(&file)).await;
    assert!(header(&res, "content-disposition").starts_with("attachment"));
    assert!(!header(&res, "content-type").starts_with("image/png"));
}

/// An Exif APP1 segment (big-endian TIFF) whose IFD0 points to a GPS IFD holding a latitude
/// and a processing method that spells `GPS_MARKER`.
fn exif_with_gps() -> Vec<u8> {
    let mut tiff: Vec<u8> = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    let entry = |tiff: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        tiff.extend_from_slice(&tag.to_be_bytes());
        tiff.extend_from_slice(&kind.to_be_bytes());
        tiff.extend_from_slice(&count.to_be_bytes());
        tiff.extend_from_slice(&value);
    };
    // IFD0 (at 8): one entry, GPSInfo, pointing at the GPS IFD just after it (at 26).
    tiff.extend_from_slice(&1u16.to_be_bytes());
    entry(&mut tiff, 0x8825, 4, 1, 26u32.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    // The GPS IFD (at 26): three entries; its data follows it (at 68).
    let method: Vec<u8> = [b"ASCII\0\0\0".as_slice(), GPS_MARKER].concat();
    tiff.extend_from_slice(&3u16.to_be_bytes());
    entry(&mut tiff, 0x0001, 2, 2, *b"N\0\0\0");
    entry(&mut tiff, 0x0002, 5, 3, 68u32.to_be_bytes());
    let method_len = u32::try_from(method.len()).unwrap();
    entry(&mut tiff, 0x001b, 7, method_len, 92u32.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(tiff.len(), 68);
    for (numerator, denominator) in [(51u32, 1u32), (30, 1), (2635, 100)] {
        tiff.extend_from_slice(&numerator.to_be_bytes());
        tiff.extend_from_slice(&denominator.to_be_bytes());
    }
    tiff.extend_from_slice(&method);
    let payload: Vec<u8> = [b"Exif\0\0".as_slice(), &tiff].concat();
    let length = u16::try_from(payload.len() + 2).unwrap();
    [&[0xff, 0xe1], length.to_be_bytes().as_slice(), &payload].concat()
}

const GPS_MARKER: &[u8] = b"GPS-SECRET-PLACE";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[actix_web::test]
async fn a_jpegs_gps_location_is_stripped_before_it_is_stored() {
    let Some(app) = spawn_app().await else { return };
    let (mut ann, room) = kitchen(&app).await;
    let mut jpeg = Cursor::new(Vec::new());
    let pixels =
        image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
    JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&pixels)
        .unwrap();
    let jpeg = jpeg.into_inner();
    // The segment goes right after the start-of-image marker, where cameras put it.
    let with_gps: Vec<u8> = [&jpeg[..2], &exif_with_gps(), &jpeg[2..]].concat();
    assert!(contains(&with_gps, GPS_MARKER) && contains(&with_gps, b"Exif\0\0"));
    let decoded = image::load_from_memory(&with_gps).expect("the fixture is a JPEG");
    assert_eq!((decoded.width(), decoded.height()), (64, 48));

    let file = uploaded(&mut ann, room, "holiday.jpg", &with_gps).await;
    assert_eq!(file["content_type"], "image/jpeg");
    assert_eq!(
        (file["width"].as_i64(), file["height"].as_i64()),
        (Some(64), Some(48))
    );
    let stored = ann.get(&url_of(&file)).await.bytes().await.unwrap();
    assert!(!contains(&stored, GPS_MARKER), "the GPS data is gone");
    assert!(
        !contains(&stored, b"Exif\0\0"),
        "the whole Exif segment is gone"
    );
    let image = image::load_from_memory(&stored).expect("still a picture");
    assert_eq!((image.width(), image.height()), (64, 48));
    assert_eq!(
        file["size"].as_u64(),
        Some(stored.len() as u64),
        "the size stored"
    );
}

#[actix_web::test]
async fn a_large_picture_gets_a_thumbnail_that_fits_and_a_small_one_is_its_own() {
    // Drawn first: encoding takes a while, and a connection left idle past the server's
    // keep-alive meanwhile would be closed under the upload.
    let large = picture(ImageFormat::Png, 1800, 600);
    let small = picture(ImageFormat::Png, 300, 200);
    let Some(app) = spawn_app().await else { return };
    let (mut ann, room) = kitchen(&app).await;
    let large_file = uploaded(&mut ann, room, "panorama.png", &large).await;
    let file = &large_file;
    assert_eq!(
        (file["width"].as_i64(), file["height"].as_i64()),
        (Some(1800), Some(600))
    );
    let thumbnail_url = file["thumbnail_url"].as_str().expect("a thumbnail");
    let res = ann.get(thumbnail_url).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_served_safely(&res, "a thumbnail");
    assert!(header(&res, "content-type").starts_with("image/"));
    assert!(header(&res, "content-disposition").starts_with("inline"));
    let bytes = res.bytes().await.unwrap();
    let thumbnail = image::load_from_memory(&bytes).expect("a picture");
    let (w, h) = (thumbnail.width(), thumbnail.height());
    assert!(w <= 1200 && h <= 800, "{w}x{h} fits 1200x800");
    assert!(w >= 1190, "{w}x{h}: as large as fits, not smaller");
    assert!(h.abs_diff(400) <= 2, "{w}x{h}: the shape kept");
    assert!(bytes.len() < large.len(), "smaller than the original");

    let file = uploaded(&mut ann, room, "small.png", &small).await;
    let original = ann.get(&url_of(&file)).await.bytes().await.unwrap();
    let res = ann.get(file["thumbnail_url"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap(), original, "the image itself");

    // Deleting the message takes the thumbnail with the original.
    let messages = ann.messages_after(room, 0).await;
    let n = messages[0]["id"].as_i64().unwrap();
    let res = ann.delete_message(room, n).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(ann.get(thumbnail_url).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        ann.get(&url_of(&large_file)).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn an_etag_answers_304_and_a_range_206_or_416() {
    let Some(app) = spawn_app().await else { return };
    let (mut ann, room) = kitchen(&app).await;
    let bytes: Vec<u8> = (0u8..=255).cycle().take(1000).collect();
    let url = url_of(&uploaded(&mut ann, room, "data.bin", &bytes).await);

    let res = ann.get(&url).await;
    assert_eq!(header(&res, "accept-ranges"), "bytes");
    let etag = header(&res, "etag").to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    let res = ann.get_with(&url, &[("If-None-Match", &etag)]).await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_served_safely(&res, "a 304");
    assert!(res.bytes().await.unwrap().is_empty());
    let res = ann
        .get_with(&url, &[("If-None-Match", "\"something else\"")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let res = ann.get_with(&url, &[("Range", "bytes=100-199")]).await;
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&res, "content-range"), "bytes 100-199/1000");
    assert_served_safely(&res, "a 206");
    assert_eq!(res.bytes().await.unwrap().as_ref(), &bytes[100..200]);
    let res = ann.get_with(&url, &[("Range", "bytes=-10")]).await;
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.bytes().await.unwrap().as_ref(), &bytes[990..]);

    let res = ann.get_with(&url, &[("Range", "bytes=1000-")]).await;
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&res, "content-range"), "bytes */1000");
    let res = ann.get_with(&url, &[("Range", "bytes=0-1,5-6")]).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "several ranges: the whole file"
    );
    assert_eq!(res.bytes().await.unwrap().len(), 1000);
}

/// The address a TestApp listens on, for a raw connection.
fn socket_address(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// Reads from the connection until the end of an answer's headers (or its end), at most
/// `within`: what came, as text.
async fn read_head(stream: &mut TcpStream, within: Duration) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let read = tokio::time::timeout(within, async {
        while !contains(&answer, b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within {within:?}: {answer:?}");
    String::from_utf8_lossy(&answer).into_owned()
}

/// The request line and headers of an upload by `person` to `room`, with these more.
async fn upload_head(person: &mut Person, room: i32, more: &str) -> String {
    let token = person.csrf().await;
    let cookies = person.cookies().expect("logged in");
    format!(
        "POST /api/rooms/{room}/attachments HTTP/1.1\r\nHost: localhost\r\n\
         Cookie: {cookies}\r\nX-CSRF-Token: {token}\r\n\
         Content-Type: multipart/form-data; boundary=raw-boundary\r\n{more}\r\n"
    )
}

#[actix_web::test]
async fn a_body_declared_too_large_is_refused_with_413_before_it_is_read() {
    let Some(app) = spawn_app().await else { return };
    let (mut ann, room) = kitchen(&app).await;
    let head = upload_head(&mut ann, room, "Content-Length: 104857600\r\n").await;
    let mut stream = TcpStream::connect(socket_address(&app)).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let start = b"--raw-boundary\r\nContent-Disposition: form-data; name=\"file\"; \
        filename=\"huge.bin\"\r\n\r\n";
    stream.write_all(start).await.unwrap();
    stream.write_all(&[0u8; 4096]).await.unwrap();
    // The other 100 MiB are never sent: the answer must come without them.
    let answer = read_head(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(stored_files(&app), 0);
}

#[actix_web::test]
async fn a_file_that_turns_out_too_large_is_refused_with_413_and_nothing_is_stored() {
    let max = 10_000;
    let Some(app) = spawn_app_tweaked(|s| s.limits.attachment_max_bytes = max).await else {
        return;
    };
    let (mut ann, room) = kitchen(&app).await;
    // Declared small enough to be read (under the limit plus what a form adds), yet over it.
    let res = ann.upload(room, "big.bin", &vec![1u8; max + 1], &[]).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("too large"),
        "{body}"
    );
    let res = ann.upload(room, "just.bin", &vec![1u8; max], &[]).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "exactly the limit is fine"
    );

    // Sent in chunks, with no length declared up front.
    let head = upload_head(&mut ann, room, "Transfer-Encoding: chunked\r\n").await;
    let mut stream = TcpStream::connect(socket_address(&app)).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let start: &[u8] = b"--raw-boundary\r\nContent-Disposition: form-data; name=\"file\"; \
        filename=\"chunked.bin\"\r\n\r\n";
    let mut chunks = vec![start.to_vec()];
    chunks.extend(std::iter::repeat_n(vec![2u8; 2048], 8));
    let mut sent = Vec::new();
    for chunk in chunks {
        sent.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        sent.extend_from_slice(&chunk);
        sent.extend_from_slice(b"\r\n");
    }
    // The server may answer and close before the last chunk: what it says is what counts.
    let _ = stream.write_all(&sent).await;
    let answer = read_head(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(stored_files(&app), 1, "only the file of exactly the limit");
}

#[actix_web::test]
async fn an_upload_without_one_non_empty_file_is_a_bad_request() {
    let Some(app) = spawn_app().await else { return };
    let (mut ann, room) = kitchen(&app).await;
    let png: &[u8] = &pixel_png();
    let cases: [(&str, Vec<Part<'_>>); 4] = [
        ("no file", vec![("text", None, b"only words")]),
        ("an empty file", vec![("file", Some("empty.txt"), b"")]),
        (
            "two files",
            vec![("file", Some("a.png"), png), ("file", Some("b.png"), png)],
        ),
        (
            "an unknown field",
            vec![("file", Some("a.png"), png), ("colour", None, b"red")],
        ),
    ];
    for (what, parts) in cases {
        let (content_type, body) = form(&parts);
        let res = ann.post_upload_body(room, &content_type, body).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{what}");
        let body: Value = res.json().await.unwrap();
        assert!(body["message"].is_string(), "{what}: {body}");
    }
    let res = ann
        .post_upload_body(room, "application/json", b"{\"file\": \"x\"}".to_vec())
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "not multipart");
    assert_eq!(stored_files(&app), 0);
    assert!(ann.messages_after(room, 0).await.is_empty());
}

#[actix_web::test]
async fn an_upload_retried_with_the_same_client_id_is_stored_once() {
    let Some(app) = spawn_app().await else { return };
    let (mut ann, room) = kitchen(&app).await;
    let fields = [("client_id", "5d1c0a2e-upload-1")];
    let first = ann.upload(room, "a.txt", b"once", &fields).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = ann.upload(room, "a.txt", b"once", &fields).await;
    assert!(again.status().is_success(), "{}", again.status());
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["message"]["id"], again["message"]["id"]);
    assert_eq!(
        first["message"]["attachment"]["url"],
        again["message"]["attachment"]["url"]
    );
    assert_eq!(ann.messages_after(room, 0).await.len(), 1);
    assert_eq!(stored_files(&app), 1);
}

#[actix_web::test]
async fn uploads_count_against_the_message_rate_limit() {
    let Some(app) = spawn_app_tweaked(|s| s.limits.messages = 3).await else {
        return;
    };
    let (mut ann, room) = kitchen(&app).await;
    ann.say(room, "first").await;
    uploaded(&mut ann, room, "a.txt", b"second").await;
    uploaded(&mut ann, room, "b.txt", b"third").await;
    let res = ann.upload(room, "c.txt", b"fourth", &[]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let res = ann.send(room, "fifth").await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "one count for both"
    );
    assert_eq!(stored_files(&app), 2);
}

#[actix_web::test]
async fn deleting_the_message_or_the_room_deletes_its_file() {
    let Some(app) = spawn_app().await else { return };
    let (mut ann, room) = kitchen(&app).await;
    let res = ann.upload(room, "notes.txt", b"soon gone", &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let message: Value = res.json().await.unwrap();
    let message = &message["message"];
    let url = url_of(&message["attachment"]);
    assert_eq!(ann.get(&url).await.status(), StatusCode::OK);

    let res = ann
        .delete_message(room, message["id"].as_i64().unwrap())
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(ann.get(&url).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        stored_files(&app),
        0,
        "gone from the database, not only hidden"
    );
    let log = ann.messages_after(room, 0).await;
    assert!(
        log[0]["deleted"] == true && log[0].get("attachment").is_none(),
        "{log:?}"
    );

    let url = url_of(&uploaded(&mut ann, room, "more.txt", b"gone too").await);
    let res = ann.delete(&format!("/api/rooms/{room}")).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(ann.get(&url).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(stored_files(&app), 0);
}

#[actix_web::test]
async fn search_finds_a_file_by_its_name_and_its_text_may_be_empty() {
    let Some(app) = spawn_app().await else { return };
    let (mut ann, room) = kitchen(&app).await;
    let res = ann
        .upload(
            room,
            "quarterly-report.pdf",
            b"%PDF-1.4\n%%EOF\n",
            &[("text", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["message"]["text"], "",
        "an empty caption is kept empty"
    );
    ann.upload(room, "other.txt", b"x", &[("text", "the minutes")])
        .await;

    let bob = app.user("bob").await;
    let found = bob.search("quarterly").await;
    let results = found["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{found}");
    let message = &results[0]["message"];
    assert_eq!(message["attachment"]["name"], "quarterly-report.pdf");
    assert_eq!(message["text"], "");
    assert_eq!(results[0]["room"]["id"], room);
    let found = bob.search("minutes").await;
    assert_eq!(
        found["results"][0]["message"]["attachment"]["name"],
        "other.txt"
    );
}
