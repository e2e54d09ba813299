"""Transition episodes API: the same worklists and episode as the pages, read-only."""

from django.db.models import Prefetch
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api import ActorMixin
from transitions import selectors
from transitions.api.serializers import AppointmentSerializer, EpisodeSerializer, PlanEpisodeSerializer
from transitions.models import Episode, EpisodeStep


class EpisodeList(ActorMixin, generics.ListAPIView):
    """Episodes, most recent discharge first (filter `status`: open, closed, cancelled). Plan
    staff: the plan's; practice staff: their attributed patients'."""

    keyset_ordering = ("-discharged_at", "-id")

    def get_serializer_class(self):
        return PlanEpisodeSerializer if self.actor.is_plan_staff else EpisodeSerializer

    def get_queryset(self):
        qs = (
            selectors.episodes(self.actor)
            .select_related("member", "encounter__facility", "practice", "care_manager", "readmission_of")
            .prefetch_related(Prefetch("steps", queryset=EpisodeStep.objects.select_related("owner")))
        )
        wanted = self.request.query_params.get("status", "")
        if wanted:
            if wanted not in Episode.Status.values:
                raise ValidationError({"status": [f"Must be one of {', '.join(Episode.Status.values)}."]})
            qs = qs.filter(status=wanted)
        return qs


class EpisodeDetail(ActorMixin, generics.RetrieveAPIView):
    serializer_class = EpisodeSerializer

    def retrieve(self, request, *args, **kwargs):
        actor = self.actor
        episode = selectors.access_episode(actor, kwargs["episode_id"])
        serializer = PlanEpisodeSerializer if actor.is_plan_staff else EpisodeSerializer
        data = serializer(episode).data
        data["appointments"] = AppointmentSerializer(selectors.episode_appointments(actor, episode), many=True).data
        if selectors.discharge_info_visible(actor, episode):
            data["discharge_info"] = episode.discharge_info
        return Response(data)
