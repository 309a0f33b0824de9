"""Forms of the link board (plain Django forms; the data goes to walrus models)."""

from __future__ import annotations

from django import forms


class LinkForm(forms.Form):
    url = forms.URLField(max_length=500, assume_scheme="https")
    title = forms.CharField(max_length=200)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    author = forms.CharField(max_length=50, required=False)


class CommentForm(forms.Form):
    author = forms.CharField(max_length=50, required=False)
    body = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)
