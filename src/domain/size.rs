//! Sizes of files as people read them.

/// A file's size for people: "100 bytes", "1.5 KiB", "12 KiB", "3.2 MiB", in the binary units
/// the server's messages use; the page (static/message-view.js, the same integer arithmetic), the
/// terminal client and the server's refusals all say sizes this way.
pub fn human_size(bytes: u64) -> String {
    if bytes < 1024 {
        return if bytes == 1 {
            "1 byte".into()
        } else {
            format!("{bytes} bytes")
        };
    }
    let names = ["KiB", "MiB", "GiB"];
    let (mut unit, mut at) = (1024_u64, 0);
    while at + 1 < names.len() && bytes >= unit * 1024 {
        unit *= 1024;
        at += 1;
    }
    let name = names[at];
    // Tenths, rounded half up: one decimal below 10, whole numbers above.
    let tenths = (bytes * 10 + unit / 2) / unit;
    if tenths < 100 && !tenths.is_multiple_of(10) {
        format!("{}.{} {name}", tenths / 10, tenths % 10)
    } else {
        format!("{} {name}", (bytes + unit / 2) / unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units_with_one_decimal_below_ten() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(1023), "1023 bytes");
        assert_eq!(human_size(1024), "1 KiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(1280), "1.3 KiB");
        assert_eq!(human_size(12 * 1024 + 100), "12 KiB");
        assert_eq!(human_size(10 * 1024 * 1024), "10 MiB");
        assert_eq!(human_size(3_355_443), "3.2 MiB");
        assert_eq!(human_size(5 * 1024 * 1024 * 1024), "5 GiB");
    }

    #[test]
    fn large_sizes_round_to_whole_units() {
        assert_eq!(human_size(200 * 1024 + 300), "200 KiB");
        assert_eq!(human_size(2_500_000), "2.4 MiB");
        assert_eq!(human_size(3 << 30), "3 GiB");
    }
}
