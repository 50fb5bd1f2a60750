"""Managing users: admins manage everyone; supervisors manage operators and viewers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool

from vigil.api.auditing import AuditNote, audited, record
from vigil.api.deps import AppState, Principal, StateDep, not_found, require_role, require_user
from vigil.api.liveaccess import access_changed
from vigil.api.params import UserId
from vigil.api.schemas import UserCreate, UserOut, UserPatch
from vigil.audit.lockout import UNLOCKED
from vigil.domain import Role
from vigil.store.records import user_record
from vigil.store.tables import UserRow
from vigil.store.users import KEEP

router = APIRouter(tags=["users"], dependencies=[Depends(require_user)])
Manager = Annotated[Principal, Depends(require_role(Role.SUPERVISOR))]
CreateNote = Annotated[AuditNote, audited("users.create", "user")]
UpdateNote = Annotated[AuditNote, audited("users.update", "user")]


def _forbidden(message: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, message)


def _check_cameras(state: AppState, by: Principal, cameras: list[str] | None) -> None:
    known = {c.id for c in state.config.cameras}
    unknown = sorted(set(cameras or []) - known)
    if unknown:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"unknown camera(s) {', '.join(unknown)}; configured: {', '.join(sorted(known))}",
        )
    if by.cameras is not None and (cameras is None or not set(cameras) <= by.cameras):
        raise _forbidden("you can only give access to cameras you see yourself")


def _check_within(by: Principal, target: UserRow) -> None:
    """One may manage only users who see no camera one does not see oneself: else a manager
    limited to some cameras could set a wider user's password and log in as them."""
    if not _sees_all_of(by, target):
        raise _forbidden(
            f"'{target.username}' sees cameras you do not; only a manager who sees all of "
            "them can change this user"
        )


def _sees_all_of(by: Principal, row: UserRow) -> bool:
    """A camera-limited manager sees only users within its cameras (and itself): a user who
    sees more would show it the names of cameras it may not see."""
    if by.cameras is None or row.id == by.id:
        return True
    return row.cameras is not None and set(row.cameras) <= by.cameras


def _check_role(by: Principal, role: Role) -> None:
    if role not in by.role.grantable():
        raise _forbidden(f"only an admin can manage {role} users")


@router.get(
    "/api/users",
    response_model=list[UserOut],
    dependencies=[audited("users.list", "user")],
)
def list_users(user: Manager, state: StateDep) -> list[UserOut]:
    """The users you may see (a camera-limited manager: those within its cameras)."""
    rows = [r for r in state.users.all() if _sees_all_of(user, r)]
    return [UserOut.model_validate(user_record(r)) for r in rows]


@router.get(
    "/api/users/{user_id}",
    response_model=UserOut,
    dependencies=[audited("users.read", "user")],
)
def get_user(user_id: UserId, user: Manager, state: StateDep) -> UserOut:
    row = state.users.get(user_id)
    if row is None or not _sees_all_of(user, row):
        raise not_found(f"user {user_id}")
    return UserOut.model_validate(user_record(row))


_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "the username is taken (or the change would leave no admin)"}
}


@router.post(
    "/api/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, responses=_CONFLICT
)
async def create_user(
    body: UserCreate, note: CreateNote, user: Manager, state: StateDep
) -> UserOut:
    """Create a user (the password is stored as an argon2id hash only)."""
    role = Role(body.role)
    note.details.update(username=body.username, role=str(role), cameras=body.cameras)
    _check_role(user, role)
    _check_cameras(state, user, body.cameras)
    row = await run_in_threadpool(
        state.users.create, body.username, body.password, role, body.cameras
    )
    note.object_id = str(row.id)
    return UserOut.model_validate(user_record(row))


@router.patch("/api/users/{user_id}", response_model=UserOut, responses=_CONFLICT)
async def update_user(
    user_id: UserId,
    body: UserPatch,
    note: UpdateNote,
    user: Manager,
    state: StateDep,
    request: Request,
) -> UserOut:
    """Change role, cameras (null: all), disabled or password; omitted fields stay. `unlock`
    (or a new password) lifts a login lockout of the account at once."""
    target = state.users.get(user_id)
    if target is None:
        raise not_found(f"user {user_id}")
    _check_role(user, Role(target.role))
    _check_within(user, target)
    if body.role is not None:
        _check_role(user, Role(body.role))
    given = body.model_fields_set
    note.details["changed"] = sorted(given)  # names only: never a password
    shown = ("role", "cameras", "disabled", "unlock")
    note.details.update({k: getattr(body, k) for k in shown if k in given})
    if "cameras" in given:
        _check_cameras(state, user, body.cameras)
    row = await run_in_threadpool(
        lambda: state.users.update(
            user_id,
            role=body.role,
            cameras=body.cameras if "cameras" in given else KEEP,
            disabled=body.disabled,
            password=body.password,
        )
    )
    if given - {"unlock"}:
        access_changed(state, row.id)  # their live feeds re-read what they may see, now
    if body.unlock or body.password is not None:  # failures before this row no longer count
        await run_in_threadpool(
            record,
            state,
            user.username,
            UNLOCKED,
            "user",
            row.username,
            request=request,
            details={"user_id": row.id},
        )
    return UserOut.model_validate(user_record(row))
