"""The household document every benefit rule reads: screening takes it as JSON, and the investigation
builds it from evidence (bokji/linkage), so both run the same calculations on the same format.

Amounts are whole won: incomes per month, assets, debts and car values as values. What a member
earns or owns goes on that member; the top-level `income`, `assets`, `cars` and `debts` hold what is
not attributed to anyone (a household-level rule counts it; a person-level rule counts it as the
applicant's, and its trace says so). The first member is the head unless one says `relation: head`;
the applicant is the member marked `applicant`, else the head.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

from bokji.errors import Invalid, field_path
from bokji.i18n import gettext as _

# NBLSS 급지: 서울 / 경기·인천 / 광역·세종·특례시 / 그 외
REGION_CLASSES = ("seoul", "gyeonggi", "metropolitan", "other")
LOCALITIES = ("large_city", "small_city", "rural")  # 대도시 / 중소도시 / 농어촌 (basic pension)
RELATIONS = ("head", "spouse", "child", "grandchild", "parent", "sibling", "other")
SCHOOL_LEVELS = ("elementary", "middle", "high", "university")
INCOME_KINDS = ("earned", "business", "property_income", "public_transfer", "other_income")
ASSET_KINDS = ("residential", "general", "financial")

Won = Annotated[StrictInt, Field(ge=0, le=10**13, description="whole won")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Income(_Strict):
    """Monthly income by kind (실제소득). `public_transfer` holds public pensions (국민연금 etc.) and allowances."""

    earned: Won = 0
    business: Won = 0
    property_income: Won = 0
    public_transfer: Won = 0
    other_income: Won = 0

    def total(self) -> int:
        return self.earned + self.business + self.property_income + self.public_transfer + self.other_income


class Assets(_Strict):
    """Property values: residential (주거용), general (일반), financial (금융)."""

    residential: Won = 0
    general: Won = 0
    financial: Won = 0


class Car(_Strict):
    value: Won = Field(description="the car's value (차량가액)")
    engine_cc: Annotated[StrictInt, Field(ge=0, le=20_000)] | None = Field(None, description="engine size (배기량)")
    age_years: Annotated[StrictInt, Field(ge=0, le=100)] | None = Field(None, description="years since registration")
    use: Literal["private", "business", "disability"] | None = Field(None, description="private, business (생업용) "
                                                                                         "or disability (장애인)")


class Member(_Strict):
    person_id: str | None = Field(None, max_length=64)
    name: str | None = Field(None, max_length=100)
    age: Annotated[StrictInt, Field(ge=0, le=130)] | None = None
    relation: Literal[RELATIONS] | None = Field(None, description="relation to the head; the first member is the "
                                                                  "head unless another says so")
    school_level: Literal[SCHOOL_LEVELS] | None = None
    unmarried: bool = Field(False, description="never married (single-parent extras)")
    applicant: bool = Field(False, description="the member applying (default: the head)")
    income: Income = Income()
    assets: Assets = Assets()
    cars: list[Car] = Field(default_factory=list, max_length=20)
    debts: Won = 0


class Housing(_Strict):
    tenure: Literal["rent", "own", "free"] = Field(description="renting, owner-occupier or living free")
    monthly_rent: Won = 0
    deposit: Won = Field(0, description="rental deposit (보증금)")


class Household(_Strict):
    """A household for screening and decisions (see the module's docstring)."""

    name: str | None = Field(None, max_length=200)
    region_class: Literal[REGION_CLASSES]
    locality: Literal[LOCALITIES] | None = None
    members: list[Member] = Field(min_length=1, max_length=30)
    income: Income = Income()
    assets: Assets = Assets()
    cars: list[Car] = Field(default_factory=list, max_length=20)
    debts: Won = 0
    household_expenses: Won = Field(0, description="가구특성별 지출비용 recognised by the caseworker")
    housing: Housing | None = None

    @model_validator(mode="after")
    def _one_head_one_applicant(self) -> Household:
        if sum(1 for m in self.members if m.relation == "head") > 1:
            raise ValueError(_("A household has one head."))
        if sum(1 for m in self.members if m.applicant) > 1:
            raise ValueError(_("One member is the applicant."))
        return self

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def head(self) -> int:
        return next((i for i, m in enumerate(self.members) if m.relation == "head"), 0)

    @property
    def applicant(self) -> int:
        return next((i for i, m in enumerate(self.members) if m.applicant), self.head)

    def relation(self, index: int) -> str:
        member = self.members[index]
        return "head" if index == self.head else (member.relation or "other")

    def spouse(self, index: int) -> int | None:
        """The member's spouse: the head's is the member related as spouse, and the other way round."""
        if index == self.head:
            return next((i for i, m in enumerate(self.members) if m.relation == "spouse"), None)
        return self.head if self.members[index].relation == "spouse" else None

    def all_cars(self) -> list[Car]:
        return [*self.cars, *(c for m in self.members for c in m.cars)]


def parse(document: object, *, prefix: str = "") -> Household:
    """A household from JSON, or a 422 naming the first bad field by its path (`members[1].age`)."""
    if isinstance(document, Household):
        return document
    try:
        return Household.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = field_path((*([prefix] if prefix else []), *first["loc"])) or prefix or "household"
        raise Invalid(_("%(field)s is not valid: %(reason)s") % {"field": field, "reason": first["msg"]},
                      field=field) from None
