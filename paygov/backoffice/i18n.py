"""The back office's words, Vietnamese by default, English on request (`?lang=en`)."""

from __future__ import annotations

from typing import Literal

Language = Literal["vi", "en"]

VI: dict[str, str] = {
    "app": "PayGov · Quản trị",
    "switch": "English",
    "switch_lang": "en",
    "skip": "Bỏ qua, đến nội dung chính",
    "login_title": "Đăng nhập",
    "login_lead": "Dành cho cán bộ tài chính và quản trị hệ thống.",
    "email": "Email công vụ",
    "password": "Mật khẩu",
    "sign_in": "Đăng nhập",
    "continue": "Tiếp tục",
    "bad_login": "Email hoặc mật khẩu không đúng.",
    "locked": "Tài khoản tạm khoá do nhập sai nhiều lần. Vui lòng thử lại sau 15 phút.",
    "totp_title": "Xác thực hai lớp",
    "totp_lead": "Nhập mã 6 chữ số trong ứng dụng xác thực của bạn.",
    "totp_code": "Mã xác thực",
    "bad_code": "Mã không đúng hoặc đã được dùng.",
    "sign_out": "Đăng xuất",
    "nav_dashboard": "Tổng quan",
    "nav_payments": "Giao dịch",
    "nav_approvals": "Chờ phê duyệt",
    "nav_reconciliation": "Đối soát",
    "nav_reports": "Báo cáo",
    "nav_webhooks": "Webhook",
    "nav_agencies": "Đơn vị thu",
    "nav_providers": "Ngân hàng & trung gian",
    "nav_users": "Người dùng",
    "nav_audit": "Nhật ký",
    "role_admin": "Quản trị",
    "role_finance": "Tài chính",
    "role_agency_finance": "Tài chính đơn vị",
    "role_viewer": "Chỉ xem",
    "forbidden_title": "Không có quyền",
    "forbidden_text": "Vai trò của bạn không được phép thực hiện thao tác này.",
    "not_found_title": "Không tìm thấy",
    "not_found_text": "Không có mục này, hoặc nó không thuộc phạm vi của bạn.",
    "error_title": "Không thực hiện được",
    "back": "Quay lại",
    "dash_title": "Tổng quan 14 ngày",
    "kpi_payments": "Giao dịch",
    "kpi_paid": "Đã thanh toán",
    "kpi_amount": "Số tiền thu",
    "kpi_discrepancies": "Chênh lệch chưa xử lý",
    "chart_count": "Số giao dịch mỗi ngày",
    "chart_amount": "Số tiền thu mỗi ngày (VND)",
    "chart_bank": "Tỉ lệ thành công theo ngân hàng",
    "chart_agency": "Tỉ lệ thành công theo đơn vị",
    "created": "Tạo",
    "paid": "Đã trả",
    "providers_health": "Tình trạng ngân hàng & trung gian",
    "circuit": "Mạch",
    "circuit_closed": "Bình thường",
    "circuit_open": "Ngắt",
    "circuit_half_open": "Thử lại",
    "no_data": "Chưa có dữ liệu.",
    "search": "Tìm kiếm",
    "search_hint": "Mã giao dịch, mã hồ sơ hoặc mã tham chiếu ngân hàng",
    "status": "Trạng thái",
    "any_status": "Tất cả",
    "agency": "Đơn vị",
    "reference": "Mã hồ sơ",
    "amount": "Số tiền",
    "created_at": "Thời gian tạo",
    "payment": "Giao dịch",
    "description": "Nội dung",
    "provider": "Trung gian",
    "bank": "Ngân hàng",
    "paid_at": "Thời gian trả",
    "refunded": "Đã hoàn",
    "available": "Có thể hoàn",
    "timeline": "Diễn biến",
    "attempts": "Các lần thanh toán",
    "ledger": "Bút toán sổ cái",
    "account": "Tài khoản",
    "debit_credit": "Nợ (+) / Có (-)",
    "journal": "Chứng từ",
    "refunds": "Hoàn tiền",
    "refund": "Hoàn tiền",
    "refund_reason": "Lý do hoàn tiền",
    "refund_button": "Hoàn tiền",
    "refund_made": "Đã tạo yêu cầu hoàn tiền {id}.",
    "refund_waiting": "Khoản hoàn vượt ngưỡng {threshold}: đã gửi để người thứ hai phê duyệt.",
    "refund_threshold": "Khoản hoàn trên {threshold} cần người thứ hai phê duyệt.",
    "reauth_title": "Xác nhận lại danh tính",
    "reauth_lead": (
        "Nhập lại mật khẩu và mã xác thực mới trước khi hoàn tiền hoặc phê duyệt."
        " Xác nhận có hiệu lực 5 phút."
    ),
    "confirm": "Xác nhận",
    "reauth_ok": "Đã xác nhận. Bạn có 5 phút để hoàn tiền hoặc phê duyệt.",
    "reauth_needed": "Cần xác nhận lại mật khẩu và mã trước khi hoàn tiền hoặc phê duyệt.",
    "approvals_title": "Yêu cầu chờ phê duyệt",
    "requested_by": "Người đề nghị",
    "approve": "Phê duyệt",
    "reject": "Từ chối",
    "approved": "Đã phê duyệt và tạo hoàn tiền {id}.",
    "rejected": "Đã từ chối yêu cầu.",
    "approved_change": "Đã phê duyệt và áp dụng thay đổi tài khoản {id}.",
    "change_waiting": "Đã gửi yêu cầu thay đổi tài khoản thụ hưởng: cần người thứ hai phê duyệt.",
    "beneficiaries": "Tài khoản thụ hưởng",
    "default_account": "Mặc định",
    "make_default": "Đặt làm mặc định",
    "add_account": "Thêm tài khoản",
    "account_hint": "số tài khoản@BIN: 0011001234567@970436",
    "kind_refund": "Hoàn tiền",
    "kind_beneficiary": "Tài khoản thụ hưởng",
    "change_add": "Thêm {account}",
    "change_default": "Đặt {account} làm mặc định",
    "kind": "Loại",
    "subject_of": "Đối tượng",
    "details": "Chi tiết",
    "own_request": "Yêu cầu của bạn: cần người khác phê duyệt",
    "none": "Không có mục nào.",
    "runs_title": "Các lượt đối soát",
    "run": "Lượt",
    "day": "Ngày",
    "lines": "Dòng sao kê",
    "discrepancies": "Chênh lệch",
    "class": "Loại",
    "resolve": "Xử lý",
    "resolution": "Cách xử lý",
    "resolve_reason": "Lý do",
    "resolved": "Đã xử lý",
    "open": "Chưa xử lý",
    "started_by": "Người chạy",
    "download": "Tải về",
    "reports_title": "Báo cáo",
    "settlement": "Quyết toán theo ngày của đơn vị",
    "transactions": "Danh sách giao dịch",
    "from": "Từ ngày",
    "to": "Đến ngày",
    "format": "Định dạng",
    "webhooks_title": "Gửi webhook",
    "event": "Sự kiện",
    "attempts_count": "Số lần gửi",
    "last_result": "Kết quả gần nhất",
    "resend": "Gửi lại",
    "resent": "Đã xếp lịch gửi lại ({id}).",
    "agencies_title": "Đơn vị thu",
    "code": "Mã",
    "mode": "Chế độ",
    "api_keys": "Khoá API",
    "issue_key": "Cấp khoá mới",
    "revoke": "Thu hồi",
    "key_issued": "Khoá mới (chỉ hiện một lần): {key}",
    "rotate_secret": "Đổi khoá ký webhook",
    "secret_rotated": "Khoá ký webhook mới (chỉ hiện một lần): {key}",
    "providers_title": "Ngân hàng & trung gian thanh toán",
    "enabled": "Đang bật",
    "disabled": "Đang tắt",
    "enable": "Bật",
    "disable": "Tắt",
    "protocol": "Giao thức",
    "users_title": "Người dùng",
    "role": "Vai trò",
    "second_factor": "Xác thực hai lớp",
    "yes": "Có",
    "no": "Chưa",
    "audit_title": "Nhật ký kiểm toán",
    "audit_ok": "Chuỗi băm nguyên vẹn: {n} mục đã kiểm tra.",
    "audit_broken": "Chuỗi băm bị sửa đổi tại mục {id}: {reason}",
    "actor": "Người thực hiện",
    "action": "Thao tác",
    "subject": "Đối tượng",
    "time": "Thời gian",
    "test_mode": "Thử nghiệm",
    "live_mode": "Thật",
    "new_user": "Thêm người dùng",
    "create_user": "Tạo người dùng",
    "agency_if_scoped": "Đơn vị (chỉ cho vai trò Tài chính đơn vị)",
    "you": "Bạn",
    "user_created": (
        "Đã tạo người dùng. Họ chỉ đăng nhập được sau khi quản trị hệ thống đặt mật khẩu"
        " (lệnh bên dưới)."
    ),
    "user_disabled": "Đã vô hiệu hoá người dùng: các phiên đăng nhập của họ đã kết thúc.",
    "user_enabled": "Đã kích hoạt lại người dùng.",
    "credentials_hint": (
        "Người dùng chưa có xác thực hai lớp chưa đăng nhập được. Quản trị hệ thống đặt mật"
        " khẩu trên máy chủ bằng lệnh dưới đây; lệnh in mã bí mật TOTP một lần duy nhất để"
        " quét vào ứng dụng xác thực."
    ),
    "start_run": "Chạy đối soát",
    "start_run_lead": (
        "Lấy sao kê của trung gian cho một ngày qua API và đối soát ngay (có thể mất vài"
        " giây). Sao kê dạng tệp tải lên ở mục dưới; sao kê rất lớn nên để lượt chạy hằng"
        " đêm hoặc lệnh paygov reconcile xử lý."
    ),
    "no_fetchable": "Không có trung gian nào cung cấp sao kê qua API.",
    "upload_run": "Đối soát từ tệp sao kê",
    "upload_run_lead": (
        "Tải lên tệp sao kê của trung gian cho một ngày (camt.053 .xml hoặc .csv theo cấu hình"
        " của trung gian, tối đa 256 MB) và đối soát ngay."
    ),
    "statement_file": "Tệp sao kê",
    "err_validation_error_file": "Hãy chọn tệp sao kê.",
    "run_error": "Lỗi",
    "kind_correction": "Điều chỉnh đối soát",
    "correction_line": "Sao kê {provider} ngày {day}, dòng {line}",
    "bank_ref": "Mã tham chiếu ngân hàng",
    "as_overpayment": "ghi nhận là nộp thừa",
    "approved_correction": (
        "Đã phê duyệt: tiền của dòng sao kê đã được ghi cho lệnh thanh toán (lần thanh toán {id})"
        " và chênh lệch đã được xử lý."
    ),
    "book_to_order": "Ghi vào một lệnh thanh toán",
    "book_to_order_lead": (
        "Tiền của dòng sao kê chỉ được ghi cho lệnh thanh toán khi một người thứ hai phê duyệt."
    ),
    "payment_id": "Mã giao dịch (pay_…)",
    "reason_optional": "Lý do (không bắt buộc)",
    "book_request": "Gửi đề nghị",
    "correction_waiting": (
        "Đã gửi đề nghị {id}: tiền của dòng sao kê sẽ được ghi cho lệnh thanh toán khi một"
        " người thứ hai phê duyệt (trang Chờ phê duyệt)."
    ),
    "correction_pending": "Chờ phê duyệt",
    "correction_pending_detail": "ghi vào {payment}, đề nghị của {by}",
    "err_own_approval": "Đây là đề nghị của bạn: cần một người khác phê duyệt.",
    "err_approval_already_decided": "Yêu cầu này đã được phê duyệt hoặc từ chối trước đó.",
    "err_approval_not_found": "Không có yêu cầu chờ phê duyệt này.",
    "err_approval_pending": "Thay đổi này đã có một đề nghị đang chờ phê duyệt.",
    "err_payment_not_found_payment_id": "Không có lệnh thanh toán với mã này.",
    "err_discrepancy_not_found": "Lượt đối soát này không có chênh lệch này.",
    "err_discrepancy_already_resolved": "Chênh lệch này đã được xử lý. Chi tiết: {detail}",
    "err_discrepancy_not_correctable": (
        "Chênh lệch này không ghi được vào lệnh thanh toán: chỉ khoản tiền vào tài khoản thu"
        " mà PayGov chưa ghi nhận mới ghi được; trường hợp khác hãy xử lý kèm lý do."
        " Chi tiết: {detail}"
    ),
    "err_correction_amount_mismatch": (
        "Số tiền của dòng sao kê khác số tiền của lệnh thanh toán: lệnh chưa thanh toán chỉ"
        " nhận đúng toàn bộ số tiền. Hãy xử lý dòng này kèm lý do và hoàn trả tiền."
        " Chi tiết: {detail}"
    ),
    "err_correction_payment_refused": (
        "Lệnh thanh toán này không nhận được tiền của dòng sao kê. Chi tiết: {detail}"
    ),
    "err_correction_stale": (
        "Chênh lệch hoặc lệnh thanh toán đã thay đổi từ lúc đề nghị; không có gì được ghi."
        " Hãy từ chối đề nghị này. Chi tiết: {detail}"
    ),
    "err_validation_error_email": "Nhập địa chỉ email hợp lệ của người dùng.",
    "err_validation_error_role": "Chọn một vai trò trong danh sách.",
    "err_validation_error_agency": (
        "Người dùng Tài chính đơn vị cần chọn một đơn vị có trong danh sách."
    ),
    "err_staff_user_exists": "Đã có người dùng với email này.",
    "err_staff_user_not_found": "Không có người dùng này.",
    "err_cannot_disable_self": (
        "Bạn không thể tự vô hiệu hoá tài khoản của mình; hãy nhờ một quản trị viên khác."
    ),
    "err_validation_error_day": "Nhập ngày theo dạng NNNN-TT-NN (ví dụ 2026-11-20).",
    "err_day_not_over": "Chỉ đối soát được ngày hôm nay hoặc trước đó.",
    "err_provider_not_found": "Không có trung gian thanh toán với mã này.",
    "err_reconciliation_running": (
        "Đang có một lượt đối soát của trung gian và ngày này; hãy đợi lượt đó xong."
    ),
    "err_statement_refused": "Sao kê không đối soát được: {detail}",
    "err_statement_refused_file": (
        "Trung gian này không có API sao kê: đối soát tệp sao kê bằng lệnh"
        " paygov reconcile --provider MÃ --date NGÀY --file TỆP."
    ),
    "err_statement_unavailable": (
        "Không lấy được sao kê từ trung gian; lượt chạy được ghi là thất bại. Chi tiết: {detail}"
    ),
    "footer": "PayGov — hệ thống thanh toán dịch vụ công. Mọi thao tác đều được ghi nhật ký.",
}

EN: dict[str, str] = {
    "app": "PayGov · Back office",
    "switch": "Tiếng Việt",
    "switch_lang": "vi",
    "skip": "Skip to main content",
    "login_title": "Sign in",
    "login_lead": "For finance staff and system administrators.",
    "email": "Work email",
    "password": "Password",
    "sign_in": "Sign in",
    "continue": "Continue",
    "bad_login": "Wrong email or password.",
    "locked": "The account is locked after repeated failures. Try again in 15 minutes.",
    "totp_title": "Two-step verification",
    "totp_lead": "Enter the 6-digit code from your authenticator app.",
    "totp_code": "Code",
    "bad_code": "The code is wrong or was already used.",
    "sign_out": "Sign out",
    "nav_dashboard": "Dashboard",
    "nav_payments": "Payments",
    "nav_approvals": "Approvals",
    "nav_reconciliation": "Reconciliation",
    "nav_reports": "Reports",
    "nav_webhooks": "Webhooks",
    "nav_agencies": "Agencies",
    "nav_providers": "Providers & banks",
    "nav_users": "Users",
    "nav_audit": "Audit log",
    "role_admin": "Administrator",
    "role_finance": "Finance",
    "role_agency_finance": "Agency finance",
    "role_viewer": "Viewer",
    "forbidden_title": "Not allowed",
    "forbidden_text": "Your role may not do this.",
    "not_found_title": "Not found",
    "not_found_text": "There is no such item, or it is outside your scope.",
    "error_title": "Could not be done",
    "back": "Back",
    "dash_title": "The last 14 days",
    "kpi_payments": "Payments",
    "kpi_paid": "Paid",
    "kpi_amount": "Amount collected",
    "kpi_discrepancies": "Open discrepancies",
    "chart_count": "Payments per day",
    "chart_amount": "Amount collected per day (VND)",
    "chart_bank": "Success rate per bank",
    "chart_agency": "Success rate per agency",
    "created": "Created",
    "paid": "Paid",
    "providers_health": "Providers' health",
    "circuit": "Circuit",
    "circuit_closed": "Closed (healthy)",
    "circuit_open": "Open (failing)",
    "circuit_half_open": "Half-open (probing)",
    "no_data": "No data yet.",
    "search": "Search",
    "search_hint": "Payment id, dossier reference or bank transaction reference",
    "status": "Status",
    "any_status": "Any",
    "agency": "Agency",
    "reference": "Dossier ref.",
    "amount": "Amount",
    "created_at": "Created",
    "payment": "Payment",
    "description": "Description",
    "provider": "Provider",
    "bank": "Bank",
    "paid_at": "Paid at",
    "refunded": "Refunded",
    "available": "Refundable",
    "timeline": "Timeline",
    "attempts": "Attempts",
    "ledger": "Ledger postings",
    "account": "Account",
    "debit_credit": "Debit (+) / credit (-)",
    "journal": "Journal",
    "refunds": "Refunds",
    "refund": "Refund",
    "refund_reason": "Reason for the refund",
    "refund_button": "Refund",
    "refund_made": "Refund {id} requested.",
    "refund_waiting": "Above the {threshold} threshold: sent to a second person for approval.",
    "refund_threshold": "Refunds above {threshold} need a second person's approval.",
    "reauth_title": "Confirm it is you",
    "reauth_lead": (
        "Enter your password and a new code before a refund or an approval. Valid for 5 minutes."
    ),
    "confirm": "Confirm",
    "reauth_ok": "Confirmed. You have 5 minutes to refund or approve.",
    "reauth_needed": "Confirm your password and code again before a refund or an approval.",
    "approvals_title": "Waiting for approval",
    "requested_by": "Requested by",
    "approve": "Approve",
    "reject": "Reject",
    "approved": "Approved; refund {id} created.",
    "rejected": "Request rejected.",
    "approved_change": "Approved; account change {id} applied.",
    "change_waiting": "Beneficiary account change requested: a second person must approve it.",
    "beneficiaries": "Beneficiary accounts",
    "default_account": "Default",
    "make_default": "Make default",
    "add_account": "Add an account",
    "account_hint": "account@BIN: 0011001234567@970436",
    "kind_refund": "Refund",
    "kind_beneficiary": "Beneficiary account",
    "change_add": "Add {account}",
    "change_default": "Make {account} the default",
    "kind": "Kind",
    "subject_of": "Subject",
    "details": "Details",
    "own_request": "Your request: someone else approves it",
    "none": "Nothing here.",
    "runs_title": "Reconciliation runs",
    "run": "Run",
    "day": "Day",
    "lines": "Statement lines",
    "discrepancies": "Discrepancies",
    "class": "Class",
    "resolve": "Resolve",
    "resolution": "Resolution",
    "resolve_reason": "Reason",
    "resolved": "Resolved",
    "open": "Open",
    "started_by": "Started by",
    "download": "Download",
    "reports_title": "Reports",
    "settlement": "Agency settlement for a day",
    "transactions": "Transaction export",
    "from": "From",
    "to": "To",
    "format": "Format",
    "webhooks_title": "Webhook deliveries",
    "event": "Event",
    "attempts_count": "Attempts",
    "last_result": "Last result",
    "resend": "Re-send",
    "resent": "Re-send scheduled ({id}).",
    "agencies_title": "Agencies",
    "code": "Code",
    "mode": "Mode",
    "api_keys": "API keys",
    "issue_key": "Issue a new key",
    "revoke": "Revoke",
    "key_issued": "New key (shown once): {key}",
    "rotate_secret": "Rotate webhook secret",
    "secret_rotated": "New webhook secret (shown once): {key}",
    "providers_title": "Providers and banks",
    "enabled": "Enabled",
    "disabled": "Disabled",
    "enable": "Enable",
    "disable": "Disable",
    "protocol": "Protocol",
    "users_title": "Users",
    "role": "Role",
    "second_factor": "Second factor",
    "yes": "Yes",
    "no": "Not yet",
    "audit_title": "Audit log",
    "audit_ok": "Hash chain intact: {n} entries verified.",
    "audit_broken": "Hash chain broken at entry {id}: {reason}",
    "actor": "Actor",
    "action": "Action",
    "subject": "Subject",
    "time": "Time",
    "test_mode": "Test",
    "live_mode": "Live",
    "new_user": "Add a user",
    "create_user": "Create user",
    "agency_if_scoped": "Agency (Agency finance role only)",
    "you": "You",
    "user_created": (
        "User created. They can sign in once an operator has set their password"
        " (the command below)."
    ),
    "user_disabled": "User disabled: their sessions have ended.",
    "user_enabled": "User enabled again.",
    "credentials_hint": (
        "A user without a second factor cannot sign in yet. An operator sets the password on"
        " the server with the command below; it prints the TOTP secret once, to scan into an"
        " authenticator app."
    ),
    "start_run": "Run a reconciliation",
    "start_run_lead": (
        "Fetches the provider's statement for a day through its API and reconciles it now"
        " (this can take a few seconds). A statement that comes as a file is uploaded below;"
        " very big ones are better left to the nightly run or `paygov reconcile`."
    ),
    "no_fetchable": "No provider offers its statement through an API.",
    "upload_run": "Reconcile a statement file",
    "upload_run_lead": (
        "Upload a provider's statement file for a day (camt.053 .xml, or .csv as the"
        " provider's settings say, up to 256 MB) and reconcile it now."
    ),
    "statement_file": "Statement file",
    "err_validation_error_file": "Choose the statement file.",
    "run_error": "Error",
    "kind_correction": "Reconciliation correction",
    "correction_line": "{provider} statement of {day}, line {line}",
    "bank_ref": "Bank reference",
    "as_overpayment": "as an overpayment",
    "approved_correction": (
        "Approved: the line's money is booked to the payment order (attempt {id}) and the"
        " discrepancy is resolved."
    ),
    "book_to_order": "Book to a payment order",
    "book_to_order_lead": (
        "The line's money is booked to the order only once a second person approves."
    ),
    "payment_id": "Payment id (pay_…)",
    "reason_optional": "Reason (optional)",
    "book_request": "Ask for approval",
    "correction_waiting": (
        "Request {id} sent: the line's money is booked to the payment order once a second"
        " person approves it (Approvals page)."
    ),
    "correction_pending": "Waiting for approval",
    "correction_pending_detail": "to {payment}, asked by {by}",
    "err_own_approval": "You asked for this: another person must approve it.",
    "err_approval_already_decided": "This request was already approved or rejected.",
    "err_approval_not_found": "There is no such pending request.",
    "err_approval_pending": "The same change is already waiting for approval.",
    "err_payment_not_found_payment_id": "There is no payment order with this id.",
    "err_discrepancy_not_found": "This run has no such discrepancy.",
    "err_discrepancy_already_resolved": "This discrepancy is resolved already. Details: {detail}",
    "err_discrepancy_not_correctable": (
        "This discrepancy cannot be booked to a payment order: only money received on the"
        " collection account that PayGov has not recorded can; resolve the others with a"
        " reason. Details: {detail}"
    ),
    "err_correction_amount_mismatch": (
        "The line's amount is not the order's: an unpaid order takes only its full amount."
        " Resolve the line with a reason and pay the money back. Details: {detail}"
    ),
    "err_correction_payment_refused": (
        "This payment order cannot take the line's money. Details: {detail}"
    ),
    "err_correction_stale": (
        "The discrepancy or the order changed since the request; nothing was booked. Reject"
        " this request. Details: {detail}"
    ),
    "err_validation_error_email": "Give the user's email address.",
    "err_validation_error_role": "Choose one of the roles.",
    "err_validation_error_agency": "An Agency finance user needs one of the listed agencies.",
    "err_staff_user_exists": "A user with this email already exists.",
    "err_staff_user_not_found": "There is no such user.",
    "err_cannot_disable_self": ("You cannot disable your own account; ask another administrator."),
    "err_validation_error_day": "Give the day as YYYY-MM-DD (for example 2026-11-20).",
    "err_day_not_over": "Only today or an earlier day can be reconciled.",
    "err_provider_not_found": "There is no provider with this code.",
    "err_reconciliation_running": (
        "A run of this provider and day is already running; wait for it to finish."
    ),
    "err_statement_refused": "The statement cannot be reconciled: {detail}",
    "err_statement_refused_file": (
        "This provider has no statement API: reconcile its statement file with"
        " paygov reconcile --provider CODE --date DAY --file STATEMENT."
    ),
    "err_statement_unavailable": (
        "The provider's statement could not be fetched; the run is recorded as failed."
        " Details: {detail}"
    ),
    "footer": "PayGov — payments for public services. Every action is recorded in the audit log.",
}

assert VI.keys() == EN.keys()


def strings(language: str) -> dict[str, str]:
    return EN if language == "en" else VI
