"""Checkout's words, Vietnamese first. Templates read them as `t.key`; `{name}` fields are
filled with str.format before Jinja escapes the result."""

from __future__ import annotations

from typing import Literal

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")

VI: dict[str, str] = {
    "lang_name": "Tiếng Việt",
    "switch_label": "English",
    "switch_lang": "en",
    "skip": "Bỏ qua, đến nội dung chính",
    "title_pay": "Thanh toán phí, lệ phí",
    "agency": "Cơ quan thu",
    "reference": "Mã hồ sơ",
    "description": "Nội dung",
    "fee_items": "Các khoản phí",
    "total": "Tổng cộng",
    "expires": "Hạn thanh toán: {time}",
    "time_zone": "giờ Việt Nam",
    "choose": "Chọn cách thanh toán",
    "vietqr_title": "Chuyển khoản VietQR",
    "vietqr_hint": "Quét mã QR bằng ứng dụng của bất kỳ ngân hàng nào",
    "banks_title": "Thanh toán qua ngân hàng",
    "popular": "Ngân hàng phổ biến",
    "others": "Các ngân hàng khác (A-Z)",
    "search_label": "Tìm ngân hàng",
    "search_placeholder": "Ví dụ: Vietcombank, Agribank",
    "search_empty": "Không tìm thấy ngân hàng. Hãy thử tên khác hoặc dùng VietQR.",
    "via_vnpay": "Qua VNPay",
    "via_direct": "Trực tiếp",
    "via_vnpay_long": "{bank}, thanh toán qua VNPay",
    "via_direct_long": "{bank}, thanh toán trực tiếp với ngân hàng",
    "no_ways": "Hiện chưa có cách thanh toán nào cho khoản phí này. Vui lòng thử lại sau.",
    "started": "Bạn đã bắt đầu một giao dịch. Nếu bạn đã trả tiền, đừng thanh toán lại: ",
    "started_link": "xem kết quả giao dịch",
    "error_method": "Cách thanh toán này không hợp lệ. Vui lòng chọn một cách trong danh sách.",
    "error_unavailable": ("Cách thanh toán này tạm thời không dùng được. Vui lòng chọn cách khác."),
    "error_not_offered": "Cách thanh toán này không còn khả dụng. Vui lòng chọn cách khác.",
    "back_to_portal": "Quay lại cổng dịch vụ",
    "qr_title": "Quét mã để chuyển khoản",
    "qr_alt": "Mã VietQR chuyển {amount} cho {name}",
    "qr_help": (
        "Mở ứng dụng ngân hàng, chọn quét mã QR và xác nhận chuyển khoản. "
        "Giữ nguyên số tiền và nội dung chuyển khoản."
    ),
    "qr_manual": "Hoặc chuyển khoản thủ công với thông tin sau",
    "bank": "Ngân hàng",
    "account_number": "Số tài khoản",
    "account_name": "Chủ tài khoản",
    "amount": "Số tiền",
    "memo": "Nội dung chuyển khoản",
    "memo_hint": "Bắt buộc ghi đúng nội dung này để hệ thống nhận ra khoản thanh toán.",
    "copy_button": "Sao chép",
    "copied": "Đã sao chép",
    "waiting": "Đang chờ bạn chuyển khoản… Trang sẽ tự chuyển khi nhận được tiền.",
    "other_way": "Chọn cách thanh toán khác",
    "success_title": "Thanh toán thành công",
    "success_text": "Cơ quan thu đã nhận được khoản thanh toán của bạn.",
    "receipt": "Số biên nhận",
    "paid_at": "Thời gian thanh toán",
    "paid_with": "Thanh toán qua",
    "vietqr_transfer": "Chuyển khoản VietQR",
    "pending_title": "Đang chờ xác nhận từ ngân hàng",
    "pending_text": (
        "Ngân hàng chưa xác nhận giao dịch. Trang này tự cập nhật; bạn không cần thanh toán lại."
    ),
    "declined_title": "Giao dịch không thành công",
    "declined_text": "Ngân hàng đã từ chối hoặc bạn đã huỷ giao dịch. Số tiền chưa bị trừ.",
    "failed_title": "Không thể thanh toán khoản phí này",
    "failed_text": (
        "Giao dịch đã bị từ chối nhiều lần. Vui lòng quay lại cổng dịch vụ để được hướng dẫn."
    ),
    "expired_title": "Yêu cầu thanh toán đã hết hạn",
    "expired_text": (
        "Đã quá thời hạn thanh toán. Vui lòng quay lại cổng dịch vụ để tạo yêu cầu mới."
    ),
    "cancelled_title": "Yêu cầu thanh toán đã bị huỷ",
    "cancelled_text": "Cơ quan thu đã huỷ yêu cầu này. Bạn không cần thanh toán.",
    "paid_title": "Khoản phí này đã được thanh toán",
    "not_found_title": "Không tìm thấy trang thanh toán",
    "not_found_text": (
        "Đường dẫn thanh toán không đúng hoặc đã bị thay đổi. "
        "Vui lòng mở lại đường dẫn từ cổng dịch vụ."
    ),
    "return_unknown_title": "Không tìm thấy giao dịch",
    "return_unknown_text": (
        "Chúng tôi không nhận ra giao dịch mà ngân hàng vừa chuyển bạn về. "
        "Vui lòng mở lại đường dẫn thanh toán từ cổng dịch vụ."
    ),
    "footer": "Thanh toán an toàn qua PayGov. Không chia sẻ mã OTP với bất kỳ ai.",
    "test_mode": "Môi trường thử nghiệm — không có tiền thật được chuyển.",
}

EN: dict[str, str] = {
    "lang_name": "English",
    "switch_label": "Tiếng Việt",
    "switch_lang": "vi",
    "skip": "Skip to main content",
    "title_pay": "Pay a fee",
    "agency": "Paid to",
    "reference": "Case reference",
    "description": "For",
    "fee_items": "Fees",
    "total": "Total",
    "expires": "Pay by {time}",
    "time_zone": "Vietnam time",
    "choose": "Choose how to pay",
    "vietqr_title": "VietQR bank transfer",
    "vietqr_hint": "Scan the QR code with any bank's app",
    "banks_title": "Pay through your bank",
    "popular": "Popular banks",
    "others": "Other banks (A-Z)",
    "search_label": "Find your bank",
    "search_placeholder": "e.g. Vietcombank, Agribank",
    "search_empty": "No bank matches. Try another name or use VietQR.",
    "via_vnpay": "Via VNPay",
    "via_direct": "Direct",
    "via_vnpay_long": "{bank}, pay through VNPay",
    "via_direct_long": "{bank}, pay directly with the bank",
    "no_ways": "No way to pay is available for this fee right now. Please try again later.",
    "started": "You have already started a payment. If you have paid, do not pay again: ",
    "started_link": "see the result",
    "error_method": "That is not a valid way to pay. Please choose one from the list.",
    "error_unavailable": "This way to pay is unavailable right now. Please choose another.",
    "error_not_offered": "This way to pay is no longer available. Please choose another.",
    "back_to_portal": "Back to the service portal",
    "qr_title": "Scan to transfer",
    "qr_alt": "VietQR code to transfer {amount} to {name}",
    "qr_help": (
        "Open your bank's app, choose scan QR and confirm the transfer. "
        "Do not change the amount or the transfer message."
    ),
    "qr_manual": "Or transfer by hand with these details",
    "bank": "Bank",
    "account_number": "Account number",
    "account_name": "Account name",
    "amount": "Amount",
    "memo": "Transfer message",
    "memo_hint": "Type this message exactly so that we can match your payment.",
    "copy_button": "Copy",
    "copied": "Copied",
    "waiting": "Waiting for your transfer… This page moves on by itself when it arrives.",
    "other_way": "Choose another way to pay",
    "success_title": "Payment successful",
    "success_text": "The agency has received your payment.",
    "receipt": "Receipt number",
    "paid_at": "Paid at",
    "paid_with": "Paid with",
    "vietqr_transfer": "VietQR transfer",
    "pending_title": "Waiting for the bank to confirm",
    "pending_text": (
        "The bank has not confirmed the payment yet. This page updates by itself; "
        "you do not need to pay again."
    ),
    "declined_title": "The payment did not go through",
    "declined_text": "The bank declined it or you cancelled it. No money has been taken.",
    "failed_title": "This fee can no longer be paid here",
    "failed_text": (
        "The payment was declined several times. Please go back to the service portal for help."
    ),
    "expired_title": "This payment request has expired",
    "expired_text": (
        "The time to pay has passed. Please go back to the service portal to start again."
    ),
    "cancelled_title": "This payment request was cancelled",
    "cancelled_text": "The agency cancelled this request. You do not need to pay.",
    "paid_title": "This fee has been paid",
    "not_found_title": "Payment page not found",
    "not_found_text": (
        "This payment link is wrong or was changed. Please open it again from the service portal."
    ),
    "return_unknown_title": "Payment not found",
    "return_unknown_text": (
        "We do not recognise the payment your bank sent you back from. "
        "Please open the payment link again from the service portal."
    ),
    "footer": "Secure payment through PayGov. Never share your OTP code with anyone.",
    "test_mode": "Test environment — no real money moves.",
}

STRINGS: dict[Language, dict[str, str]] = {"vi": VI, "en": EN}


class Strings:
    """A language's words; Jinja reads `t.key` and a missing key fails loudly.

    Not a dict subclass: `t.items` or `t.copy` would then be dict methods, not words.
    """

    __slots__ = ("language", "words")

    def __init__(self, language: Language, words: dict[str, str]) -> None:
        self.language = language
        self.words = words

    def __getitem__(self, key: str) -> str:
        return self.words[key]

    def __getattr__(self, key: str) -> str:
        try:
            return self.words[key]
        except KeyError:
            raise AttributeError(key) from None


def strings(language: Language) -> Strings:
    """The words of one language."""
    return Strings(language, STRINGS[language])


def pick_language(asked: str | None, default: str) -> Language:
    """`?lang=` when it names a language we speak, else the payment's, else Vietnamese."""
    for candidate in (asked, default):
        if candidate in LANGUAGES:
            return "en" if candidate == "en" else "vi"
    return "vi"
