package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/corebanking/ledger/bulkhead"
	"github.com/corebanking/ledger/ledger"
)

// errorDomain names this service in errdetails.ErrorInfo.
const errorDomain = "ledger.corebanking"

// reason is how one reason reaches a caller: a gRPC code and a message in
// each language that an app can show a customer as it is.
type reason struct {
	code codes.Code
	en   string
	ko   string
}

// reasons is the one table of what a caller is told, by reason: every Code
// the ledger can return, and the reasons the server gives of its own
// (serverReasons), each with its gRPC code and messages; a test checks that
// each has a row, and that there are no others.
var reasons = map[string]reason{
	string(ledger.CodeInvalidArgument): {codes.InvalidArgument,
		"Some of the details you entered are not valid. Please check them and try again.",
		"입력하신 정보 중 올바르지 않은 항목이 있습니다. 확인 후 다시 시도해 주세요."},
	string(ledger.CodeAccountNotFound): {codes.NotFound,
		"We could not find that account. Please check the account number.",
		"계좌를 찾을 수 없습니다. 계좌번호를 확인해 주세요."},
	string(ledger.CodeAccountExists): {codes.AlreadyExists,
		"An account with this number already exists.",
		"이미 같은 번호의 계좌가 있습니다."},
	string(ledger.CodeAccountFrozen): {codes.FailedPrecondition,
		"This account is frozen and cannot be used right now. Please contact us.",
		"이 계좌는 지급정지 상태라 지금은 이용할 수 없습니다. 고객센터로 문의해 주세요."},
	string(ledger.CodeAccountClosed): {codes.FailedPrecondition,
		"This account has been closed.",
		"해지된 계좌입니다."},
	string(ledger.CodeCurrencyMismatch): {codes.FailedPrecondition,
		"This account holds a different currency.",
		"이 계좌의 통화와 요청한 통화가 다릅니다."},
	string(ledger.CodeInsufficientFunds): {codes.FailedPrecondition,
		"Your available balance is not enough for this payment.",
		"출금 가능 잔액이 부족합니다."},
	string(ledger.CodeBalanceLimitExceeded): {codes.FailedPrecondition,
		"This payment would take the account over its balance limit.",
		"이 거래를 하면 계좌의 잔액 한도를 넘게 됩니다."},
	string(ledger.CodeIdempotencyConflict): {codes.FailedPrecondition,
		"This request number was already used for a different request. Please start again.",
		"이미 다른 요청에 사용된 요청 번호입니다. 처음부터 다시 시도해 주세요."},
	string(ledger.CodeHoldNotFound): {codes.NotFound,
		"We could not find that authorization.",
		"해당 승인 내역을 찾을 수 없습니다."},
	string(ledger.CodeHoldExpired): {codes.FailedPrecondition,
		"This authorization has expired. Please start the payment again.",
		"승인 유효시간이 지났습니다. 거래를 처음부터 다시 진행해 주세요."},
	string(ledger.CodeHoldNotActive): {codes.FailedPrecondition,
		"This authorization has already been completed or cancelled.",
		"이미 완료되었거나 취소된 승인입니다."},
	string(ledger.CodeHoldAmountExceeded): {codes.FailedPrecondition,
		"The amount is larger than the authorized amount.",
		"승인된 금액보다 큰 금액입니다."},
	string(ledger.CodePromoNotFound): {codes.NotFound,
		"We could not find that promotion.",
		"해당 이벤트 상품을 찾을 수 없습니다."},
	string(ledger.CodePromoExists): {codes.AlreadyExists,
		"A promotion with this id already exists.",
		"이미 같은 아이디의 이벤트 상품이 있습니다."},
	string(ledger.CodePromoSoldOut): {codes.FailedPrecondition,
		"Sorry, this special deposit has sold out.",
		"죄송합니다. 이 특판 예금은 모두 판매되었습니다."},
	string(ledger.CodePromoNotOpen): {codes.FailedPrecondition,
		"This special deposit is not on sale yet. Please come back when it opens.",
		"아직 판매 시작 전인 특판 예금입니다. 판매 시작 후 다시 이용해 주세요."},
	string(ledger.CodePromoClosed): {codes.FailedPrecondition,
		"The sale of this special deposit has ended.",
		"이 특판 예금의 판매 기간이 끝났습니다."},
	string(ledger.CodePromoAlreadySubscribed): {codes.AlreadyExists,
		"You have already joined this special deposit.",
		"이미 가입하신 특판 예금입니다."},
	string(ledger.CodePromoLimitExceeded): {codes.FailedPrecondition,
		"The amount is over the limit for one customer.",
		"1인당 가입 한도를 초과한 금액입니다."},
	string(ledger.CodeSubscriptionNotFound): {codes.NotFound,
		"We could not find your subscription to this special deposit.",
		"이 특판 예금의 가입 내역을 찾을 수 없습니다."},
	string(ledger.CodeSubscriptionMatured): {codes.FailedPrecondition,
		"This special deposit has matured: it is paid back with its full interest and cannot be cancelled.",
		"만기가 된 특판 예금은 해지할 수 없습니다. 원금과 만기 이자가 지급됩니다."},
	string(ledger.CodeSubscriptionCancelled): {codes.FailedPrecondition,
		"This special deposit has already been cancelled.",
		"이미 해지된 특판 예금입니다."},
	string(ledger.CodeUnavailable): {codes.Unavailable,
		"The service is busy right now. Please try again in a moment.",
		"지금은 요청이 많아 처리할 수 없습니다. 잠시 후 다시 시도해 주세요."},
	string(ledger.CodeInternal): {codes.Internal,
		"Something went wrong on our side. Please try again later.",
		"일시적인 오류가 발생했습니다. 잠시 후 다시 시도해 주세요."},
	string(ledger.CodeEntryNotFound): {codes.NotFound,
		"We could not find that transaction.",
		"해당 거래를 찾을 수 없습니다."},
	string(ledger.CodeEntryAlreadyReversed): {codes.FailedPrecondition,
		"This transaction has already been reversed.",
		"이미 취소 처리된 거래입니다."},
	string(ledger.CodeEntryNotReversible): {codes.FailedPrecondition,
		"This transaction cannot be reversed.",
		"이 거래는 취소할 수 없습니다."},
	string(ledger.CodeDebitNotPermitted): {codes.PermissionDenied,
		"This service is not allowed to take money from that account.",
		"이 서비스는 해당 계좌에서 돈을 인출할 권한이 없습니다."},
	string(ledger.CodeAccountKindNotPermitted): {codes.PermissionDenied,
		"This service is not allowed to open that kind of account.",
		"이 서비스는 해당 종류의 계좌를 개설할 권한이 없습니다."},
	string(ledger.CodeReversalNotPermitted): {codes.PermissionDenied,
		"This service is not allowed to reverse that transaction.",
		"이 서비스는 해당 거래를 취소할 권한이 없습니다."},
	string(ledger.CodeBatchItemNotApplied): {codes.Aborted,
		"This item was not applied because another item of the same batch was refused.",
		"같은 묶음의 다른 항목이 거절되어 이 항목은 처리되지 않았습니다."},
	string(ledger.CodeRecordNotFound): {codes.NotFound,
		"We could not find that record in the audit journal.",
		"감사 원장에서 해당 기록을 찾을 수 없습니다."},
	string(ledger.CodeNotCheckpointed): {codes.FailedPrecondition,
		"No signed checkpoint covers this record yet. Please try again in a few seconds.",
		"아직 이 기록을 포함하는 서명된 체크포인트가 없습니다. 몇 초 후 다시 시도해 주세요."},
	string(ledger.CodeTreeSizeOutOfRange): {codes.OutOfRange,
		"The audit journal has no tree of that size for this request.",
		"감사 원장에 이 요청에 맞는 크기의 트리가 없습니다."},
	string(ledger.CodeDatabaseUnavailable): {codes.Unavailable,
		"We cannot reach our records right now, and nothing was changed. Please try again in a moment.",
		"지금은 거래 기록에 접근할 수 없어 아무것도 처리되지 않았습니다. 잠시 후 다시 시도해 주세요."},
	string(ledger.CodeOutcomeUnknown): {codes.Unavailable,
		"We could not confirm whether this request went through. Please send it again with the same request number: it will not be carried out twice.",
		"요청이 처리되었는지 확인하지 못했습니다. 같은 요청 번호로 다시 보내 주세요. 두 번 처리되지는 않습니다."},
	string(ledger.CodeMalformedRequest): {codes.InvalidArgument,
		"The request could not be read. Please update the app, or check the details and try again.",
		"요청을 읽을 수 없습니다. 앱을 최신 버전으로 업데이트하거나 입력하신 내용을 확인한 후 다시 시도해 주세요."},
	string(ledger.CodeRequestTooLarge): {codes.InvalidArgument,
		"The request is too large. Please shorten it and try again.",
		"요청의 크기가 너무 큽니다. 내용을 줄여서 다시 시도해 주세요."},
	reasonDeadline: {codes.DeadlineExceeded,
		"The request took too long. Please check your history before trying again.",
		"요청 처리 시간이 초과되었습니다. 거래 내역을 확인한 후 다시 시도해 주세요."},
	reasonCanceled: {codes.Canceled,
		"The request was cancelled.",
		"요청이 취소되었습니다."},
	// Neither says why: which check failed is for the server's log only.
	reasonUnauthenticated: {codes.Unauthenticated,
		"The calling system could not be authenticated.",
		"호출한 시스템을 인증할 수 없습니다."},
	reasonPermissionDenied: {codes.PermissionDenied,
		"The calling system is not allowed to do this.",
		"호출한 시스템에는 이 작업을 할 권한이 없습니다."},
	reasonSaturated: {codes.ResourceExhausted,
		"Too many people are doing this right now. Please try again in a moment.",
		"지금은 이용자가 많아 처리하지 못했습니다. 잠시 후 다시 시도해 주세요."},
	reasonCircuitOpen: {codes.Unavailable,
		"This service is taking a short break. Please try again in a few seconds.",
		"이 서비스가 잠시 혼잡합니다. 몇 초 후 다시 시도해 주세요."},
	reasonNoTime: {codes.DeadlineExceeded,
		"The request could not be started in time. Please try again.",
		"요청을 제시간에 처리하지 못했습니다. 다시 시도해 주세요."},
}

// serverReasons are the reasons the server gives of its own, beside the
// ledger's codes: the transport's and the bulkheads'.
var serverReasons = []string{reasonDeadline, reasonCanceled, reasonUnauthenticated, reasonPermissionDenied,
	reasonSaturated, reasonCircuitOpen, reasonNoTime}

// Reasons the transport itself gives, beside the ledger's.
const (
	reasonDeadline         = "DEADLINE_EXCEEDED"
	reasonCanceled         = "CANCELED"
	reasonUnauthenticated  = "UNAUTHENTICATED"
	reasonPermissionDenied = "PERMISSION_DENIED"
)

// transportError is the status of a call the transport refuses itself.
func transportError(name, callID string) error {
	return statusOf(reasons[name], name, callMeta(callID), 0, nil)
}

// unavailableRetry is the retry advice sent with UNAVAILABLE.
const unavailableRetry = time.Second

// toStatus turns any error a handler returns into the status a caller sees:
// a code, a stable reason in ErrorInfo, field violations in BadRequest, and
// messages in en-US and ko-KR. Internal detail is logged, never sent.
func toStatus(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err // already a deliberate status (for example from the bulkhead)
	}
	name, r := reasonFor(ctx, err)
	callID := CallID(ctx)
	if r.code == codes.Internal || r.code == codes.Unavailable {
		log.ErrorContext(ctx, "call failed", "method", method, "call_id", callID, "reason", name, "error", err)
	}
	return statusOf(r, name, callMeta(callID), 0, err)
}

// reasonFor names the reason for err, a handler's error in the call whose
// context is ctx. The ledger's own errors say it; a deadline is the
// caller's (DEADLINE_EXCEEDED: it has stopped listening) unless the server's
// budget for the call ran out first: then the database did not answer in
// time, and the store, which answers OUTCOME_UNKNOWN once a COMMIT was
// sent, left nothing done.
func reasonFor(ctx context.Context, err error) (string, reason) {
	code := ledger.ErrorCode(err)
	var le *ledger.Error
	switch {
	case errors.As(err, &le):
	case errors.Is(err, context.DeadlineExceeded) && serverGaveUp(ctx):
		code = ledger.CodeDatabaseUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return reasonDeadline, reasons[reasonDeadline]
	case errors.Is(err, context.Canceled):
		return reasonCanceled, reasons[reasonCanceled]
	}
	r, ok := reasons[string(code)]
	if !ok {
		code, r = ledger.CodeInternal, reasons[string(ledger.CodeInternal)]
	}
	return string(code), r
}

// errDefaultDeadline is the cause with which a call's context ends when
// Config.DefaultTimeout, the deadline of a caller that set none, runs out.
var errDefaultDeadline = errors.New("server: default deadline reached")

// serverGaveUp reports whether ctx ended because the server's own time for
// the call ran out (a compartment's budget or the default deadline) rather
// than the caller's deadline.
func serverGaveUp(ctx context.Context) bool {
	cause := context.Cause(ctx)
	return errors.Is(cause, bulkhead.ErrTimeout) || errors.Is(cause, errDefaultDeadline)
}

// callMeta is the ErrorInfo metadata of a call's error: its call id.
func callMeta(callID string) map[string]string { return map[string]string{"call_id": callID} }

// statusOf is the one way a status reaches a caller: reason r, named name,
// with meta in its ErrorInfo, err's field violations, and when to retry:
// after retry, or unavailableRetry for UNAVAILABLE when retry is zero.
func statusOf(r reason, name string, meta map[string]string, retry time.Duration, err error) error {
	st := status.New(r.code, r.en)
	details := []protoadapt.MessageV1{
		&errdetails.ErrorInfo{Reason: name, Domain: errorDomain, Metadata: meta},
		&errdetails.LocalizedMessage{Locale: "en-US", Message: r.en},
		&errdetails.LocalizedMessage{Locale: "ko-KR", Message: r.ko},
	}
	var le *ledger.Error
	if errors.As(err, &le) && len(le.Fields) > 0 {
		br := &errdetails.BadRequest{}
		for _, f := range le.Fields {
			br.FieldViolations = append(br.FieldViolations,
				&errdetails.BadRequest_FieldViolation{Field: f.Field, Description: f.Description})
		}
		details = append(details, br)
	}
	if retry == 0 && r.code == codes.Unavailable {
		retry = unavailableRetry
	}
	if retry > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(retry)})
	}
	if withDetails, derr := st.WithDetails(details...); derr == nil {
		st = withDetails
	}
	return st.Err()
}
